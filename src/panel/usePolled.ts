import { useResource } from './useResource';

export interface IPolled<T> {
  /** The last answer, null before the first one. */
  data: T | null;
  /** The last request failed; `data` keeps the last good answer. */
  error: unknown;
  loading: boolean;
  reload: () => Promise<void>;
}

/**
 * One resource fetched on mount, whenever `key` or `refreshToken` changes, and
 * every `refreshInterval` seconds while `active`: `useResource` with a fixed
 * interval, named the way the Deployments and Drift tabs use it.
 */
export function usePolled<T>(
  fetcher: () => Promise<T>,
  options: {
    key: string;
    active: boolean;
    refreshInterval: number;
    refreshToken: number;
  }
): IPolled<T> {
  const { key, active, refreshInterval, refreshToken } = options;
  const { value, error, loading, reload } = useResource(fetcher, [key], {
    active,
    interval: () => refreshInterval,
    refreshToken
  });
  return { data: value, error, loading, reload };
}
