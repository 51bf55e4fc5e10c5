// Jobs: the list (submitted and driver jobs) and one job's page with its
// live driver log and a stop button.
import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, ApiError, streamJobLogs } from "../api";
import { Card, ErrorBanner, Facts, PageHeader, PollView, StatusBadge } from "../components/common";
import { DataTable, FilterBox, filterRows, StateSelect, type Column } from "../components/DataTable";
import { LogViewer } from "../components/LogViewer";
import { useAction } from "../components/useAction";
import { TASK_COLORS } from "../components/Timeline";
import { elapsed, formatDuration, formatTime } from "../format";
import { REFRESH_MS, usePoll } from "../poll";
import { replaceQuery, useLocation } from "../router";
import { jobKey, TERMINAL_JOB_STATUSES, type JobDetails } from "../types";

const JOB_STATUSES = ["PENDING", "RUNNING", "SUCCEEDED", "FAILED", "STOPPED"];
/** The log pane keeps at most this many characters (the end of the log). */
const MAX_LOG_CHARS = 2_000_000;

const jobHref = (job: JobDetails) => `/jobs/${encodeURIComponent(jobKey(job))}`;

const JOB_COLUMNS: Column<JobDetails>[] = [
  {
    key: "id",
    title: "Job",
    render: (j) => (
      <a class="mono" href={jobHref(j)}>
        {j.submission_id ?? j.job_id}
      </a>
    ),
    sort: jobKey,
  },
  { key: "job_id", title: "GCS job id", render: (j) => <span class="mono">{j.job_id ?? "–"}</span>, sort: (j) => j.job_id },
  { key: "type", title: "Type", render: (j) => j.type, sort: (j) => j.type },
  { key: "status", title: "Status", render: (j) => <StatusBadge state={j.status} />, sort: (j) => j.status },
  { key: "entrypoint", title: "Entrypoint", render: (j) => <code class="ellipsis narrow" title={j.entrypoint}>{j.entrypoint || "–"}</code>, class: "wide" },
  { key: "start", title: "Started", render: (j) => formatTime(j.start_time), sort: (j) => j.start_time },
  { key: "duration", title: "Duration", render: (j) => formatDuration(elapsed(j.start_time, j.end_time)), sort: (j) => elapsed(j.start_time, j.end_time) },
];

export function JobsPage() {
  const { query } = useLocation();
  const text = query.get("q") ?? "";
  const status = query.get("status") ?? "";
  const jobs = usePoll(api.jobs);
  return (
    <div data-page="jobs">
      <PageHeader title="Jobs">
        <FilterBox value={text} placeholder="Filter jobs" onInput={(q) => replaceQuery({ q, status })} />
        <StateSelect value={status} options={JOB_STATUSES} onChange={(s) => replaceQuery({ q: text, status: s })} />
      </PageHeader>
      <Card>
        <PollView polled={jobs} what="jobs">
          {(rows) => {
            const shown = filterRows(
              rows.filter((j) => !status || j.status === status),
              text,
              (j) => [j.submission_id, j.job_id, j.entrypoint, j.status, j.type],
            );
            return (
              <DataTable
                columns={JOB_COLUMNS}
                rows={shown}
                rowKey={(j) => `${j.type}:${jobKey(j)}`}
                empty={rows.length ? "No job matches the filter." : "No jobs yet. Submit one with POST /api/jobs/."}
                testId="jobs-table"
              />
            );
          }}
        </PollView>
      </Card>
    </div>
  );
}

/**
 * Follows a job's driver log: streams /logs/tail, and when streaming fails
 * polls /logs every 2 s instead. Returns the text and the last error.
 */
function useJobLog(id: string, terminal: boolean): { text: string; error?: Error } {
  const [text, setText] = useState("");
  const [error, setError] = useState<Error>();

  useEffect(() => {
    const controller = new AbortController();
    const { signal } = controller;
    let timer: number | undefined;
    const poll = async () => {
      try {
        const logs = await api.jobLogs(id, signal);
        setText(logs.slice(-MAX_LOG_CHARS));
        setError(undefined);
      } catch (err) {
        if (!signal.aborted) setError(err as Error);
      }
      if (!signal.aborted && !terminal) timer = window.setTimeout(poll, REFRESH_MS);
    };
    const stream = async () => {
      setText("");
      try {
        await streamJobLogs(id, (chunk) => setText((t) => (t + chunk).slice(-MAX_LOG_CHARS)), signal);
        setError(undefined);
      } catch (err) {
        if (signal.aborted) return;
        if (err instanceof ApiError && err.status === 404) {
          setError(err);
          return;
        }
        void poll();  // streaming is not possible here: poll instead
      }
    };
    if (terminal) void poll();
    else void stream();
    return () => {
      controller.abort();
      window.clearTimeout(timer);
    };
  }, [id, terminal]);

  return { text, error };
}

function JobLog({ id, terminal }: { id: string; terminal: boolean }) {
  const { text, error } = useJobLog(id, terminal);
  return (
    <Card title={terminal ? "Driver log" : "Driver log (live)"}>
      {error && <ErrorBanner error={error} stale={!!text} />}
      <LogViewer text={text} placeholder={terminal ? "(no output)" : "(waiting for output…)"} testId="job-log" />
    </Card>
  );
}

function JobFacts({ job }: { job: JobDetails }) {
  const env = job.runtime_env && Object.keys(job.runtime_env).length ? JSON.stringify(job.runtime_env) : "–";
  const metadata = job.metadata && Object.keys(job.metadata).length ? JSON.stringify(job.metadata) : "–";
  const facts: [string, ComponentChildren][] = [
    ["Submission id", <span class="mono">{job.submission_id ?? "–"}</span>],
    ["GCS job id", <span class="mono">{job.job_id ?? "–"}</span>],
    ["Type", job.type],
    ["Status", <StatusBadge state={job.status} />],
    ["Message", job.message || "–"],
    ["Entrypoint", <code>{job.entrypoint || "–"}</code>],
    ["Started", formatTime(job.start_time)],
    ["Ended", formatTime(job.end_time)],
    ["Duration", formatDuration(elapsed(job.start_time, job.end_time))],
    ["Exit code", job.exit_code ?? "–"],
    ["Driver pid", job.driver_pid ?? "–"],
    ["Runtime env", <code>{env}</code>],
    ["Metadata", <code>{metadata}</code>],
    ["Log file", <span class="mono">{job.driver_log_path ?? "–"}</span>],
  ];
  return <Facts facts={facts} />;
}

function JobActions({ job, onChange }: { job: JobDetails; onChange: () => void }) {
  const { busy, error, act } = useAction(onChange);
  const terminal = TERMINAL_JOB_STATUSES.has(job.status);
  if (job.type !== "SUBMISSION") return null;
  return (
    <>
      {error && <span class="error-text">{error.message}</span>}
      <button
        class="button danger"
        disabled={busy || terminal}
        title={terminal ? "The job has ended" : "SIGTERM to the job's processes, SIGKILL after 3 s"}
        onClick={() => act(() => api.stopJob(jobKey(job)))}
      >
        {busy ? "Working…" : "Stop job"}
      </button>
    </>
  );
}

const PROGRESS_ORDER = ["FINISHED", "RUNNING", "PENDING", "FAILED"];

/** The job's tasks by state as one stacked bar (Ray's job progress), with
 * links to its tasks and actors. */
function JobProgress({ jobId }: { jobId: string }) {
  const tasks = usePoll((s) => api.tasks(s, jobId), jobId);
  return (
    <Card
      title="Progress"
      actions={
        <>
          <a href={`/tasks?job=${jobId}`} data-testid="job-tasks-link">Tasks</a> ·{" "}
          <a href={`/actors?job=${jobId}`} data-testid="job-actors-link">Actors</a>
        </>
      }
    >
      <PollView polled={tasks} what="the job's tasks">
        {(reply) => {
          const counts = new Map<string, number>();
          for (const t of reply.tasks) counts.set(t.state, (counts.get(t.state) ?? 0) + 1);
          const total = reply.tasks.length;
          if (!total) return <div class="muted">No tasks yet.</div>;
          const states = [...counts.keys()].sort(
            (a, b) => (PROGRESS_ORDER.indexOf(a) + 99) % 99 - (PROGRESS_ORDER.indexOf(b) + 99) % 99,
          );
          return (
            <>
              <div class="progress-bar" role="img" aria-label="tasks by state" data-testid="job-progress">
                {states.map((state) => (
                  <span
                    key={state}
                    class="progress-part"
                    data-state={state}
                    title={`${state}: ${counts.get(state)}`}
                    style={{ width: `${(100 * (counts.get(state) ?? 0)) / total}%`, background: TASK_COLORS[state] ?? "#94a3b8" }}
                  />
                ))}
              </div>
              <div class="table-caption">
                {total} task attempts
                {states.map((state) => (
                  <span key={state} class="count-chip">
                    <StatusBadge state={state} /> {counts.get(state)}
                  </span>
                ))}
              </div>
            </>
          );
        }}
      </PollView>
    </Card>
  );
}

export function JobDetailPage({ id }: { id: string }) {
  const job = usePoll((s) => api.job(id, s), id);
  const terminal = job.data ? TERMINAL_JOB_STATUSES.has(job.data.status) : false;
  return (
    <div data-page="job-detail">
      <PageHeader title={<>Job <span class="mono">{id}</span></>}>
        <a href="/jobs">← All jobs</a>
        {job.data && <JobActions job={job.data} onChange={job.refresh} />}
      </PageHeader>
      <PollView polled={job} what="the job">
        {(j) => (
          <>
            <Card title="Details">
              <JobFacts job={j} />
            </Card>
            {j.job_id && <JobProgress jobId={j.job_id} />}
            {j.type === "SUBMISSION" ? (
              <JobLog id={id} terminal={terminal} />
            ) : (
              <Card title="Driver log">
                <p class="muted">
                  This driver was started outside the job API, so the dashboard has no log for it. Its
                  node's log files are on the <a href="/nodes">Nodes</a> page.
                </p>
              </Card>
            )}
          </>
        )}
      </PollView>
    </div>
  );
}
