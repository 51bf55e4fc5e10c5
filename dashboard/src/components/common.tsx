// Small building blocks shared by the pages: status badges, loading and error
// states, id links, usage bars, cards.
import { Fragment, type ComponentChildren } from "preact";
import { percent, shortId } from "../format";
import type { Polled } from "../poll";

const STATE_TONES: Record<string, string> = {
  ALIVE: "ok",
  RUNNING: "info",
  CREATED: "ok",
  FINISHED: "ok",
  SUCCEEDED: "ok",
  PENDING: "wait",
  PENDING_CREATION: "wait",
  DEPENDENCIES_UNREADY: "wait",
  RESTARTING: "wait",
  RESCHEDULING: "wait",
  PREPARED: "wait",
  FAILED: "bad",
  DEAD: "bad",
  REMOVED: "muted",
  STOPPED: "muted",
};

export function stateTone(state: string): string {
  return STATE_TONES[state] ?? "muted";
}

export function StatusBadge({ state }: { state: string }) {
  return <span class={`badge badge-${stateTone(state)}`}>{state || "UNKNOWN"}</span>;
}

export function Loading({ what }: { what: string }) {
  return (
    <div class="placeholder" role="status">
      <span class="spinner" aria-hidden="true" /> Loading {what}…
    </div>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <div class="placeholder">{children}</div>;
}

export function ErrorBanner({ error, stale }: { error: Error; stale?: boolean }) {
  return (
    <div class="error-banner" role="alert">
      <strong>Error:</strong> {error.message}
      {stale ? " — showing the last data received; retrying." : " — retrying."}
    </div>
  );
}

/**
 * Renders a polled value: a spinner before the first answer, an error banner
 * when the last call failed (above the last data, if any), else children(data).
 */
export function PollView<T>({
  polled,
  what,
  children,
}: {
  polled: Polled<T>;
  what: string;
  children: (data: T) => ComponentChildren;
}) {
  const { data, error } = polled;
  if (data === undefined) {
    return error ? <ErrorBanner error={error} /> : <Loading what={what} />;
  }
  return (
    <>
      {error && <ErrorBanner error={error} stale />}
      {children(data)}
    </>
  );
}

/** A shortened id linking to its page; the full id is in the tooltip. */
export function IdLink({ id, href, length }: { id: string | null | undefined; href?: string; length?: number }) {
  if (!id) return <span class="muted">–</span>;
  const text = shortId(id, length);
  return href ? (
    <a class="mono" href={href} title={id}>
      {text}
    </a>
  ) : (
    <span class="mono" title={id}>
      {text}
    </span>
  );
}

export function UsageBar({
  label,
  used,
  total,
  format,
}: {
  label: string;
  used: number;
  total: number;
  format: (v: number) => string;
}) {
  const pct = percent(used, total);
  const tone = pct >= 90 ? "bad" : pct >= 70 ? "wait" : "ok";
  return (
    <div class="usage">
      <div class="usage-label">
        <span>{label}</span>
        <span class="muted">
          {format(used)} / {format(total)}
        </span>
      </div>
      <div
        class="usage-track"
        role="meter"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={Math.round(pct)}
      >
        <div class={`usage-fill fill-${tone}`} style={{ width: `${pct}%` }} />
      </div>
    </div>
  );
}

export function Card({
  title,
  children,
  actions,
  class: cls,
}: {
  title?: ComponentChildren;
  children: ComponentChildren;
  actions?: ComponentChildren;
  class?: string;
}) {
  return (
    <section class={`card ${cls ?? ""}`}>
      {(title || actions) && (
        <header class="card-header">
          <h2>{title}</h2>
          {actions && <div class="card-actions">{actions}</div>}
        </header>
      )}
      {children}
    </section>
  );
}

export function Stat({ label, value, sub }: { label: string; value: ComponentChildren; sub?: ComponentChildren }) {
  return (
    <div class="stat">
      <div class="stat-label">{label}</div>
      <div class="stat-value">{value}</div>
      {sub && <div class="stat-sub">{sub}</div>}
    </div>
  );
}

export function PageHeader({ title, children }: { title: ComponentChildren; children?: ComponentChildren }) {
  return (
    <div class="page-header">
      <h1>{title}</h1>
      {children && <div class="page-header-extra">{children}</div>}
    </div>
  );
}

/** "Job <id> ×": a list page filtered to one job's rows (?job=<id>). */
export function JobFilterChip({ job, onClear }: { job: string; onClear: () => void }) {
  return (
    <div class="table-caption" data-testid="job-filter">
      Showing job <a class="mono" href={`/jobs/${job}`}>{job}</a> only
      <button class="button small" onClick={onClear}>
        Show all
      </button>
    </div>
  );
}

/** A list of "label: value" facts (a job's, an actor's, a task attempt's). */
export function Facts({ facts }: { facts: [string, ComponentChildren][] }) {
  return (
    <dl class="facts">
      {facts.map(([k, v]) => (
        <Fragment key={k}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </Fragment>
      ))}
    </dl>
  );
}
