// A hand-drawn SVG time-series chart: several lines over a shared time axis,
// a y axis from 0, a legend with the latest values and a hover read-out.
// Clicking a legend entry hides or shows its line (when there are several).
import { useState } from "preact/hooks";
import { useWidth } from "./useWidth";

export interface Series {
  name: string;
  color: string;
  values: number[];
}

const HEIGHT = 170;
const PAD = { top: 10, right: 12, bottom: 22, left: 56 };

/** A "nice" upper bound (1, 2, 2.5, 5 × 10^n) at or above max. */
function niceMax(max: number): number {
  if (!(max > 0)) return 1;
  const exp = Math.pow(10, Math.floor(Math.log10(max)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * exp >= max) return m * exp;
  return 10 * exp;
}

function relativeLabel(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s === 0) return "now";
  return s % 60 === 0 ? `-${s / 60}m` : `-${s}s`;
}

export function LineChart({
  times,
  series,
  windowMs,
  format,
  yMax,
  minTop,
  integer,
  title,
}: {
  times: number[];
  series: Series[];
  windowMs: number;
  format: (v: number) => string;
  /** A fixed top of the y axis (e.g. the total); else from the data. */
  yMax?: number;
  /** The least top of the y axis, so that all-zero data still gets sensible
   * ticks (e.g. 1 MiB for bytes, not fractions of a byte). */
  minTop?: number;
  /** Counts: the y axis ticks are whole numbers. */
  integer?: boolean;
  title: string;
}) {
  const { ref, width } = useWidth(480);
  const [hover, setHover] = useState<number | null>(null);
  const [hidden, setHidden] = useState<ReadonlySet<string>>(new Set());
  const toggle = (name: string) =>
    setHidden((h) => {
      const next = new Set(h);
      if (!next.delete(name)) next.add(name);
      return next;
    });
  const end = times.length ? times[times.length - 1] : Date.now();
  const start = end - windowMs;
  const first = times.findIndex((t) => t >= start);
  const from = first < 0 ? times.length : first;
  const ts = times.slice(from);
  const all = series.map((s) => ({ ...s, values: s.values.slice(from) }));
  const visible = all.filter((s) => !hidden.has(s.name));
  const dataMax = Math.max(0, ...visible.flatMap((s) => s.values));
  // A known total is the top of the axis; otherwise round the data's maximum up.
  const top = Math.max(
    minTop ?? 0,
    yMax && yMax >= dataMax ? yMax : integer ? Math.max(4, Math.ceil(dataMax / 4) * 4) : niceMax(dataMax),
  );

  const plotW = width - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const x = (t: number) => PAD.left + ((t - start) / windowMs) * plotW;
  const y = (v: number) => PAD.top + plotH - (v / top) * plotH;

  const tickStep = windowMs > 5 * 60_000 ? 120_000 : 60_000;
  const xTicks: number[] = [];
  for (let back = 0; back <= windowMs; back += tickStep) xTicks.push(back);

  const onMove = (event: MouseEvent) => {
    if (!ts.length) return;
    const rect = (event.currentTarget as SVGElement).getBoundingClientRect();
    const t = start + ((event.clientX - rect.left - PAD.left) / plotW) * windowMs;
    let best = 0;
    for (let i = 1; i < ts.length; i++) if (Math.abs(ts[i] - t) < Math.abs(ts[best] - t)) best = i;
    setHover(best);
  };

  return (
    <div class="chart" ref={ref}>
      <svg
        width={width}
        height={HEIGHT}
        role="img"
        aria-label={title}
        onMouseMove={onMove}
        onMouseLeave={() => setHover(null)}
      >
        {[0, 0.25, 0.5, 0.75, 1].map((f) => (
          <g key={f}>
            <line class="grid" x1={PAD.left} x2={width - PAD.right} y1={y(top * f)} y2={y(top * f)} />
            <text class="axis" x={PAD.left - 6} y={y(top * f) + 4} text-anchor="end">
              {format(top * f)}
            </text>
          </g>
        ))}
        {xTicks.map((back) => (
          <text key={back} class="axis" x={x(end - back)} y={HEIGHT - 6} text-anchor="middle">
            {relativeLabel(back)}
          </text>
        ))}
        {visible.map((s) => {
          if (!ts.length) return null;
          const points = s.values.map((v, i) => `${x(ts[i]).toFixed(1)},${y(v).toFixed(1)}`);
          const area =
            visible.length === 1
              ? `M${x(ts[0])},${y(0)} L${points.join(" L")} L${x(ts[ts.length - 1])},${y(0)} Z`
              : null;
          return (
            <g key={s.name}>
              {area && <path d={area} fill={s.color} opacity={0.12} />}
              <polyline points={points.join(" ")} fill="none" stroke={s.color} stroke-width={2} />
            </g>
          );
        })}
        {hover !== null && ts[hover] !== undefined && (
          <line class="hover-line" x1={x(ts[hover])} x2={x(ts[hover])} y1={PAD.top} y2={PAD.top + plotH} />
        )}
        {!ts.length && (
          <text class="axis" x={PAD.left + plotW / 2} y={PAD.top + plotH / 2} text-anchor="middle">
            No samples yet
          </text>
        )}
      </svg>
      <div class="legend">
        {all.map((s) => {
          const i = hover ?? s.values.length - 1;
          const value = i >= 0 && i < s.values.length ? format(s.values[i]) : "–";
          const content = (
            <>
              <span class="swatch" style={{ background: s.color }} />
              {s.name}: <strong>{value}</strong>
            </>
          );
          return all.length > 1 ? (
            <button
              key={s.name}
              type="button"
              class={hidden.has(s.name) ? "legend-item legend-toggle off" : "legend-item legend-toggle"}
              title={hidden.has(s.name) ? "Show this line" : "Hide this line"}
              aria-pressed={!hidden.has(s.name)}
              onClick={() => toggle(s.name)}
            >
              {content}
            </button>
          ) : (
            <span key={s.name} class="legend-item">
              {content}
            </span>
          );
        })}
        {hover !== null && ts[hover] !== undefined && (
          <span class="legend-item muted">at {new Date(ts[hover]).toLocaleTimeString([], { hour12: false })}</span>
        )}
      </div>
    </div>
  );
}
