import { useCallback, useEffect, useRef, useState } from 'react';

import { usePoll } from './usePoll';

export interface IUseResourceOptions<T> {
  /** Nothing is fetched while false (panel hidden). */
  active: boolean;
  /** Seconds between re-fetches (given the last value); 0 = no polling. */
  interval: (value: T | null) => number;
  /** Any change re-fetches now (the Refresh command). */
  refreshToken?: number;
}

export interface IResource<T> {
  value: T | null;
  error: unknown;
  loading: boolean;
  /** Re-fetch now; resolves once the answer is in. */
  reload: () => Promise<void>;
}

/**
 * One server resource (a run, a model's versions…) fetched when shown, on Refresh, and
 * polled (a Lumino `Poll`, see {@link usePoll}) at an interval that may depend on the
 * value (fast while a run is active). Answers to superseded requests are dropped.
 */
export function useResource<T>(
  fetcher: () => Promise<T>,
  deps: ReadonlyArray<unknown>,
  options: IUseResourceOptions<T>
): IResource<T> {
  const { active, refreshToken } = options;
  const [value, setValue] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(false);
  const fetchRef = useRef(fetcher);
  fetchRef.current = fetcher;
  const seq = useRef(0);
  const mounted = useRef(true);
  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);

  // A new resource (deps changed): forget the old value.
  useEffect(() => {
    setValue(null);
    setError(null);
  }, deps);

  const load = useCallback(async (): Promise<void> => {
    const mine = ++seq.current;
    setLoading(true);
    try {
      const result = await fetchRef.current();
      if (mounted.current && mine === seq.current) {
        setValue(result);
        setError(null);
      }
    } catch (err) {
      if (mounted.current && mine === seq.current) {
        setError(err);
      }
    } finally {
      if (mounted.current && mine === seq.current) {
        setLoading(false);
      }
    }
  }, deps);

  const reload = usePoll(load, {
    active,
    interval: options.interval(value),
    triggers: [load, refreshToken],
    name: 'jupyterlab-mlops:resource'
  });

  return { value, error, loading, reload };
}
