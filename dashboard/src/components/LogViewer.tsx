// A scrolling log pane that stays pinned to the bottom while the reader is
// there, so new output shows up as it arrives.
import { useLayoutEffect, useRef } from "preact/hooks";

export function LogViewer({ text, placeholder = "(empty)", testId }: { text: string; placeholder?: string; testId?: string }) {
  const ref = useRef<HTMLPreElement>(null);
  const pinned = useRef(true);

  useLayoutEffect(() => {
    const el = ref.current;
    if (el && pinned.current) el.scrollTop = el.scrollHeight;
  }, [text]);

  const onScroll = () => {
    const el = ref.current;
    if (el) pinned.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
  };

  return (
    <pre class="log-viewer" ref={ref} onScroll={onScroll} data-testid={testId}>
      {text || <span class="muted">{placeholder}</span>}
    </pre>
  );
}
