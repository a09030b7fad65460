/**
 * Server polling for React components on `@lumino/polling`'s `Poll`, the
 * poller JupyterLab itself uses: one request at a time, the next one an
 * interval after the previous answer, nothing while inactive, and a fetch at
 * once whenever a trigger changes or {@link usePoll}'s refresh is called.
 */
import { IPoll, Poll } from '@lumino/polling';
import { useCallback, useEffect, useRef } from 'react';

/** Upper bound of a poll's back-off, as JupyterLab's default (ms). */
const MAX_INTERVAL_MS = 30 * 1000;

/**
 * The `Poll` frequency for `seconds` between fetches; 0 (or less) never
 * ticks by itself (fetches only on demand). No back-off: the fetchers report
 * errors to the user instead of rejecting.
 */
export function pollFrequency(seconds: number): IPoll.Frequency {
  if (!(seconds > 0)) {
    return { interval: Poll.NEVER, backoff: false, max: MAX_INTERVAL_MS };
  }
  const interval = Math.min(Math.round(seconds * 1000), Poll.MAX_INTERVAL);
  return {
    interval,
    backoff: false,
    max: Math.max(interval, MAX_INTERVAL_MS)
  };
}

/** A poll whose factory stores its own answer (resolves to nothing, never rejects). */
type FetchPoll = Poll<void, unknown>;

/** Fetch at once, superseding a scheduled tick or a request in flight. */
function fetchNow(poll: FetchPoll): Promise<void> {
  return poll.schedule({ interval: Poll.IMMEDIATE, phase: 'refreshed' });
}

export interface IUsePollOptions {
  /** Nothing is fetched while false (panel hidden, tab not selected). */
  active: boolean;
  /** Seconds between fetches while active; 0 = only on demand. */
  interval: number;
  /**
   * Any change fetches at once (a new resource or page, the Refresh command);
   * becoming active does too.
   */
  triggers: ReadonlyArray<unknown>;
  /** The poll's name (shows in debugging). */
  name: string;
}

/**
 * Poll `fetcher` (which must not reject: it stores its own result or error).
 *
 * @returns `refresh`: fetch now (restarting the interval); resolves once that
 *   fetch has answered.
 */
export function usePoll(
  fetcher: () => Promise<void>,
  options: IUsePollOptions
): () => Promise<void> {
  const { active, interval, triggers, name } = options;
  const fetchRef = useRef(fetcher);
  fetchRef.current = fetcher;
  const activeRef = useRef(active);
  activeRef.current = active;
  const pollRef = useRef<FetchPoll | null>(null);

  // One poll per mounted component (first effect: the others use it).
  useEffect(() => {
    const poll: FetchPoll = new Poll<void, unknown>({
      auto: false,
      name,
      frequency: pollFrequency(interval),
      // Inactive: never fetch (even on demand); hidden browser tab: pause.
      standby: () => !activeRef.current || 'when-hidden',
      factory: () => fetchRef.current()
    });
    pollRef.current = poll;
    return () => {
      pollRef.current = null;
      poll.dispose();
    };
  }, []);

  // A new interval (e.g. fast while a run is active) counts from now.
  useEffect(() => {
    const poll = pollRef.current;
    if (!poll) {
      return;
    }
    const frequency = pollFrequency(interval);
    if (frequency.interval === poll.frequency.interval) {
      return;
    }
    poll.frequency = frequency;
    const { phase } = poll.state;
    if (phase === 'resolved' || phase === 'reconnected') {
      void poll.schedule({ interval: frequency.interval, phase });
    }
  }, [interval]);

  // Show / hide and the triggers.
  useEffect(() => {
    const poll = pollRef.current;
    if (!poll) {
      return;
    }
    if (active) {
      void fetchNow(poll);
    } else {
      void poll.stop();
    }
  }, [active, ...triggers]);

  return useCallback(async (): Promise<void> => {
    const poll = pollRef.current;
    if (!poll) {
      return;
    }
    await fetchNow(poll);
    // Resolves when the poll schedules its next tick: after this fetch answered.
    await poll.tick.catch(() => undefined);
  }, []);
}
