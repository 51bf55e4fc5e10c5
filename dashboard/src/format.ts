// Number, size, time and id formatting shared by the pages.

const BYTE_UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

export function formatBytes(bytes: number | null | undefined): string {
  if (bytes == null || !Number.isFinite(bytes)) return "–";
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = unit === 0 || value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${value.toFixed(digits)} ${BYTE_UNITS[unit]}`;
}

/** A number with at most two decimals and no trailing zeros. */
export function formatNumber(value: number | null | undefined): string {
  if (value == null || !Number.isFinite(value)) return "–";
  return String(Math.round(value * 100) / 100);
}

/** Formats a resource amount: bytes for memory resources, a number otherwise. */
export function formatResource(name: string, value: number | undefined): string {
  return isByteResource(name) ? formatBytes(value) : formatNumber(value);
}

/** "CPU: 1, memory: 2.0 GiB", or "{}" for an empty map. */
export function formatResources(resources: Record<string, number> | undefined): string {
  const parts = Object.entries(resources ?? {}).map(([k, v]) => `${k}: ${formatResource(k, v)}`);
  return parts.join(", ") || "{}";
}

export function isByteResource(name: string): boolean {
  return name === "memory" || name === "object_store_memory";
}

export function formatTime(ms: number | null | undefined): string {
  if (!ms) return "–";
  const d = new Date(ms);
  const today = new Date();
  const time = d.toLocaleTimeString([], { hour12: false });
  if (d.toDateString() === today.toDateString()) return time;
  return `${d.toLocaleDateString()} ${time}`;
}

export function formatDuration(ms: number | null | undefined): string {
  if (ms == null || !Number.isFinite(ms) || ms < 0) return "–";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${Math.floor(s % 60)}s`;
  const h = Math.floor(m / 60);
  return `${h}h ${m % 60}m`;
}

/** A start/end pair's duration; a missing end counts up to now. */
export function elapsed(start: number | null | undefined, end: number | null | undefined): number | null {
  if (!start) return null;
  return (end || Date.now()) - start;
}

export function shortId(id: string | null | undefined, length = 8): string {
  if (!id) return "–";
  return id.length > length ? id.slice(0, length) : id;
}

/** The id's first and last `each` characters: object ids differ at both ends
 * (the task that made them, then the return index). */
export function middleId(id: string, each = 12): string {
  return id.length > 2 * each + 1 ? `${id.slice(0, each)}…${id.slice(-each)}` : id;
}

export function percent(used: number, total: number): number {
  if (!total || !Number.isFinite(used)) return 0;
  return Math.max(0, Math.min(100, (used / total) * 100));
}

/** "1 actor", "2 actors". */
export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/** The last non-empty line of an error (a traceback ends with the exception's own line). */
export function errorSummary(error: string | null | undefined): string {
  const lines = (error ?? "").split("\n").filter((l) => l.trim());
  return lines.length ? lines[lines.length - 1] : "";
}
