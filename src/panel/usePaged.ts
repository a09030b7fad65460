import { useCallback, useEffect, useRef, useState } from 'react';

import { DEFAULT_PAGE_LIMIT, IPage, IPageQuery, isNotFound } from '../api';
import { usePoll } from './usePoll';

/** Fetches one page of a list endpoint. */
export type PageFetcher<T> = (query: IPageQuery) => Promise<IPage<T>>;

export interface IUsePagedOptions {
  /** Page size asked from the server. */
  limit?: number;
  /** Seconds between re-fetches while `active`; 0 turns polling off. */
  refreshInterval: number;
  /** Whether the list is on screen; nothing is fetched while it is not. */
  active: boolean;
  /** Any change triggers an immediate re-fetch (the Refresh command). */
  refreshToken: number;
}

export interface IPaged<T> {
  /** The last page the server returned, `null` before the first answer. */
  page: IPage<T> | null;
  offset: number;
  limit: number;
  /** A request is in flight. */
  loading: boolean;
  /** The list endpoint answered 404: the feature is not on the server yet. */
  notFound: boolean;
  /** The last request failed (other than 404); `page` keeps the last good page. */
  error: unknown;
  hasPrevious: boolean;
  hasNext: boolean;
  previous: () => void;
  next: () => void;
  reload: () => void;
}

/**
 * Server-side paginated list with polling.
 *
 * Fetches `offset/limit` pages through `fetchPage` when shown, on a page
 * change and whenever `refreshToken` changes, and again `refreshInterval`
 * seconds after each answer while `active` (a Lumino `Poll`, see
 * {@link usePoll}: one request at a time). Answers to superseded requests are
 * dropped.
 */
export function usePaged<T>(
  fetchPage: PageFetcher<T>,
  options: IUsePagedOptions
): IPaged<T> {
  const limit = options.limit ?? DEFAULT_PAGE_LIMIT;
  const { active, refreshInterval, refreshToken } = options;

  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState<IPage<T> | null>(null);
  const [loading, setLoading] = useState(false);
  const [notFound, setNotFound] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const fetchRef = useRef(fetchPage);
  fetchRef.current = fetchPage;
  const seq = useRef(0);
  const mounted = useRef(true);
  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);

  const load = useCallback(async (): Promise<void> => {
    const mine = ++seq.current;
    setLoading(true);
    try {
      const result = await fetchRef.current({ offset, limit });
      if (!mounted.current || mine !== seq.current) {
        return;
      }
      setPage(result);
      setNotFound(false);
      setError(null);
      if (result.items.length === 0 && offset > 0) {
        // The page emptied under us (items deleted): go to the last page.
        const last =
          result.total > 0 ? Math.floor((result.total - 1) / limit) * limit : 0;
        setOffset(Math.min(last, offset - limit));
      }
    } catch (err) {
      if (!mounted.current || mine !== seq.current) {
        return;
      }
      if (isNotFound(err)) {
        setNotFound(true);
        setPage(null);
        setError(null);
      } else {
        setError(err);
      }
    } finally {
      if (mine === seq.current && mounted.current) {
        setLoading(false);
      }
    }
  }, [offset, limit]);

  // Fetch on show, page change and the Refresh command; poll while shown.
  const refresh = usePoll(load, {
    active,
    interval: refreshInterval,
    triggers: [load, refreshToken],
    name: 'jupyterlab-mlops:page'
  });

  const total = page?.total ?? 0;
  const hasPrevious = offset > 0;
  const hasNext = offset + limit < total;
  return {
    page,
    offset,
    limit,
    loading,
    notFound,
    error,
    hasPrevious,
    hasNext,
    previous: () => setOffset(Math.max(0, offset - limit)),
    next: () => hasNext && setOffset(offset + limit),
    reload: () => void refresh()
  };
}
