import { useEffect, useRef, useState } from "preact/hooks";

/** Tracks an element's content width in CSS pixels (at least `min`). */
export function useWidth(fallback: number, min = 200) {
  const ref = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(fallback);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const observer = new ResizeObserver(([entry]) => setWidth(Math.max(min, entry.contentRect.width)));
    observer.observe(el);
    return () => observer.disconnect();
  }, [min]);
  return { ref, width };
}
