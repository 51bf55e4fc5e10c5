// useAction: runs a button's request (stop a job, pause a schedule...) with
// the button disabled while it runs, then calls `onDone` (a poll's refresh);
// a failure is kept for the caller to show next to the button.
import { useState } from "preact/hooks";

export function useAction(onDone: () => void) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error>();
  const act = async (action: () => Promise<unknown>) => {
    setBusy(true);
    setError(undefined);
    try {
      await action();
      onDone();
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, act };
}
