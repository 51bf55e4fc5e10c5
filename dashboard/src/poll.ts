// Auto-refresh: usePoll runs a fetcher now and again every REFRESH_MS after
// the previous call settles (never two at once), while auto-refresh is on.
import { createContext } from "preact";
import { useCallback, useContext, useEffect, useRef, useState } from "preact/hooks";

export const REFRESH_MS = 2000;

export interface RefreshSettings {
  enabled: boolean;
  setEnabled: (on: boolean) => void;
}

export const RefreshContext = createContext<RefreshSettings>({
  enabled: true,
  setEnabled: () => {},
});

export interface Polled<T> {
  /** The last successful answer; kept while later calls fail. */
  data: T | undefined;
  /** The last call's error, cleared by the next success. */
  error: Error | undefined;
  /** Time of the last successful answer (ms). */
  updated: number | undefined;
  /** Fetches again now. */
  refresh: () => void;
}

/**
 * Polls fetcher(signal). `key` identifies what is fetched: when it changes,
 * the old data is dropped and polling starts over.
 */
export function usePoll<T>(fetcher: (signal: AbortSignal) => Promise<T>, key = ""): Polled<T> {
  const { enabled } = useContext(RefreshContext);
  const [state, setState] = useState<{
    key: string;
    data?: T;
    error?: Error;
    updated?: number;
  }>({ key });
  const fetcherRef = useRef(fetcher);
  fetcherRef.current = fetcher;
  const [nonce, setNonce] = useState(0);
  const refresh = useCallback(() => setNonce((n) => n + 1), []);

  useEffect(() => {
    const controller = new AbortController();
    let timer: number | undefined;
    const run = async () => {
      try {
        const data = await fetcherRef.current(controller.signal);
        if (controller.signal.aborted) return;
        setState({ key, data, updated: Date.now() });
      } catch (err) {
        if (controller.signal.aborted) return;
        const error = err instanceof Error ? err : new Error(String(err));
        setState((s) => (s.key === key ? { ...s, error } : { key, error }));
      }
      if (enabled) timer = window.setTimeout(run, REFRESH_MS);
    };
    void run();
    return () => {
      controller.abort();
      window.clearTimeout(timer);
    };
  }, [key, enabled, nonce]);

  const current = state.key === key ? state : { key };
  return { data: current.data, error: current.error, updated: current.updated, refresh };
}
