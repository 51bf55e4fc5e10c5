// Tasks: a filterable table and a timeline of tasks per worker, both from the
// backend's task rows (one per attempt; the GCS gets them about once a second).
import { api } from "../api";
import type { ComponentChildren } from "preact";
import { Card, Empty, Facts, IdLink, JobFilterChip, PageHeader, PollView, StatusBadge } from "../components/common";
import { DataTable, FilterBox, filterRows, StateSelect, type Column } from "../components/DataTable";
import { Timeline } from "../components/Timeline";
import { elapsed, errorSummary, formatDuration, formatTime, plural } from "../format";
import { usePoll } from "../poll";
import { replaceQuery, useLocation } from "../router";
import { logsHref } from "./Logs";
import type { TaskInfo, TasksReply } from "../types";

const TASK_STATES = ["PENDING", "RUNNING", "FINISHED", "FAILED"];

const TYPE_LABELS: Record<string, string> = {
  NORMAL_TASK: "task",
  ACTOR_CREATION_TASK: "actor creation",
  ACTOR_TASK: "actor task",
};

/** Attempts of one task share its id. */
export const taskKey = (t: TaskInfo) => `${t.task_id}:${t.attempt}`;

export const TASK_COLUMNS: Column<TaskInfo>[] = [
  {
    key: "name",
    title: "Name",
    render: (t) => (
      <>
        <a class="strong ellipsis" href={`/tasks/${t.task_id}`} data-task-id={t.task_id} title={t.name}>
          {t.name}
        </a>
        {t.attempt > 0 && <span class="badge badge-wait">retry {t.attempt}</span>}
      </>
    ),
    sort: (t) => t.name,
  },
  { key: "state", title: "State", render: (t) => <StatusBadge state={t.state} />, sort: (t) => t.state },
  { key: "type", title: "Type", render: (t) => TYPE_LABELS[t.type] ?? t.type, sort: (t) => t.type },
  { key: "node", title: "Node", render: (t) => <IdLink id={t.node_id} href={t.node_id ? `/nodes/${t.node_id}` : undefined} />, sort: (t) => t.node_id },
  { key: "pid", title: "Worker pid", render: (t) => t.worker_pid || "–", sort: (t) => t.worker_pid },
  { key: "start", title: "Started", render: (t) => formatTime(t.start_time_ms), sort: (t) => t.start_time_ms },
  { key: "duration", title: "Duration", render: (t) => formatDuration(elapsed(t.start_time_ms, t.end_time_ms)), sort: (t) => elapsed(t.start_time_ms, t.end_time_ms) },
  { key: "error", title: "Error", render: (t) => <span class="ellipsis short error-text" title={errorSummary(t.error)}>{errorSummary(t.error)}</span>, class: "wide" },
];

function StateCounts({ tasks, dropped }: { tasks: TaskInfo[]; dropped: number }) {
  const counts = new Map<string, number>();
  for (const t of tasks) counts.set(t.state, (counts.get(t.state) ?? 0) + 1);
  return (
    <div class="table-caption">
      {plural(tasks.length, "task")}
      {[...counts].sort().map(([state, n]) => (
        <span key={state} class="count-chip">
          <StatusBadge state={state} /> {n}
        </span>
      ))}
      {dropped > 0 && <span class="muted"> · {dropped} older attempts dropped by the GCS</span>}
    </div>
  );
}

function TasksBody({ reply, text, state, view, job }: { reply: TasksReply; text: string; state: string; view: string; job: string }) {
  const shown = filterRows(
    reply.tasks.filter((t) => (!state || t.state === state) && (!job || t.job_id === job)),
    text,
    (t) => [t.name, t.task_id, t.type, t.state, t.job_id, t.node_id, t.worker_id, t.worker_pid, t.actor_id, t.error],
  );
  return (
    <>
      <StateCounts tasks={shown} dropped={reply.dropped} />
      {view === "timeline" ? (
        <Timeline tasks={shown} now={Date.now()} />
      ) : (
        <DataTable
          columns={TASK_COLUMNS}
          rows={shown}
          rowKey={taskKey}
          initialSort={{ key: "start", descending: true }}
          empty={reply.tasks.length ? "No task matches the filter." : "No tasks yet."}
          testId="tasks-table"
        />
      )}
    </>
  );
}

export function TasksPage() {
  const { query } = useLocation();
  const text = query.get("q") ?? "";
  const state = query.get("state") ?? "";
  const view = query.get("view") === "timeline" ? "timeline" : "table";
  const job = query.get("job") ?? "";
  const tasks = usePoll(api.tasks);
  const set = (changes: Record<string, string>) =>
    replaceQuery({ q: text, state, job, view: view === "table" ? "" : view, ...changes });
  return (
    <div data-page="tasks">
      <PageHeader title="Tasks">
        <div class="tabs" role="tablist">
          <button role="tab" aria-selected={view === "table"} class={view === "table" ? "tab active" : "tab"} onClick={() => set({ view: "" })}>
            Table
          </button>
          <button role="tab" aria-selected={view === "timeline"} class={view === "timeline" ? "tab active" : "tab"} onClick={() => set({ view: "timeline" })}>
            Timeline
          </button>
        </div>
        <FilterBox value={text} placeholder="Filter by name, id, type, node, worker…" onInput={(q) => set({ q })} />
        <StateSelect value={state} options={TASK_STATES} onChange={(s) => set({ state: s })} />
      </PageHeader>
      {job && <JobFilterChip job={job} onClear={() => set({ job: "" })} />}
      <Card>
        <PollView polled={tasks} what="tasks">
          {(reply) => <TasksBody reply={reply} text={text} state={state} view={view} job={job} />}
        </PollView>
      </Card>
    </div>
  );
}

/** One task: every attempt, with where it ran, its error and traceback, and its worker's log. */
export function TaskDetailPage({ id }: { id: string }) {
  const tasks = usePoll(api.tasks);
  return (
    <div data-page="task-detail">
      <PageHeader title={<>Task <span class="mono">{id}</span></>}>
        <a href="/tasks">← All tasks</a>
      </PageHeader>
      <PollView polled={tasks} what="the task">
        {(reply) => {
          const attempts = reply.tasks.filter((t) => t.task_id === id).sort((a, b) => b.attempt - a.attempt);
          if (!attempts.length) {
            return (
              <Empty>
                No task <span class="mono">{id}</span> (the GCS keeps the newest 100k attempts).
              </Empty>
            );
          }
          return attempts.map((t) => <TaskAttempt key={taskKey(t)} task={t} />);
        }}
      </PollView>
    </div>
  );
}

function TaskAttempt({ task: t }: { task: TaskInfo }) {
  const facts: [string, ComponentChildren][] = [
    ["Name", <span class="strong">{t.name}</span>],
    ["Function", <span class="mono">{t.func_name || "–"}</span>],
    ["State", <StatusBadge state={t.state} />],
    ["Type", TYPE_LABELS[t.type] ?? t.type],
    ["Job", t.job_id ? <a class="mono" href={`/tasks?job=${t.job_id}`}>{t.job_id}</a> : "–"],
    ["Actor", t.actor_id ? <IdLink id={t.actor_id} href={`/actors/${t.actor_id}`} length={16} /> : "–"],
    ["Parent task", t.parent_task_id ? <IdLink id={t.parent_task_id} href={`/tasks/${t.parent_task_id}`} length={16} /> : "–"],
    ["Node", <IdLink id={t.node_id} href={t.node_id ? `/nodes/${t.node_id}` : undefined} length={16} />],
    ["Worker", t.worker_id ? <><IdLink id={t.worker_id} length={16} /> pid {t.worker_pid || "–"}</> : "–"],
    ["Submitted", formatTime(t.creation_time_ms)],
    ["Started", formatTime(t.start_time_ms)],
    ["Ended", formatTime(t.end_time_ms)],
    ["Duration", formatDuration(elapsed(t.start_time_ms, t.end_time_ms))],
  ];
  return (
    <Card
      title={`Attempt ${t.attempt}`}
      actions={
        t.node_id && t.worker_id ? (
          <a href={logsHref(t.node_id, `worker-${t.worker_id}.out`)}>Worker log</a>
        ) : undefined
      }
    >
      <Facts facts={facts} />
      {t.error && (
        <>
          <h3 class="section-title">Error</h3>
          <pre class="traceback" data-testid="task-error">{t.error}</pre>
        </>
      )}
    </Card>
  );
}
