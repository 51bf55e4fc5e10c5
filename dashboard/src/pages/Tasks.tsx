// Tasks: a filterable table and a timeline of tasks per worker, both from the
// backend's task rows (one per attempt; the GCS gets them about once a second).
import { api } from "../api";
import { Card, IdLink, PageHeader, PollView, StatusBadge } from "../components/common";
import { DataTable, FilterBox, filterRows, StateSelect, type Column } from "../components/DataTable";
import { Timeline } from "../components/Timeline";
import { elapsed, formatDuration, formatTime, plural } from "../format";
import { usePoll } from "../poll";
import { replaceQuery, useLocation } from "../router";
import type { TaskInfo, TasksReply } from "../types";

const TASK_STATES = ["PENDING", "RUNNING", "FINISHED", "FAILED"];

const TYPE_LABELS: Record<string, string> = {
  NORMAL_TASK: "task",
  ACTOR_CREATION_TASK: "actor creation",
  ACTOR_TASK: "actor task",
};

/** Attempts of one task share its id. */
export const taskKey = (t: TaskInfo) => `${t.task_id}:${t.attempt}`;

const COLUMNS: Column<TaskInfo>[] = [
  { key: "name", title: "Name", render: (t) => <span class="strong">{t.name}</span>, sort: (t) => t.name },
  { key: "state", title: "State", render: (t) => <StatusBadge state={t.state} />, sort: (t) => t.state },
  { key: "type", title: "Type", render: (t) => TYPE_LABELS[t.type] ?? t.type, sort: (t) => t.type },
  { key: "id", title: "Task id", render: (t) => <IdLink id={t.task_id} length={12} />, sort: (t) => t.task_id },
  { key: "attempt", title: "Attempt", render: (t) => t.attempt, sort: (t) => t.attempt },
  { key: "job", title: "Job", render: (t) => <span class="mono">{t.job_id || "–"}</span>, sort: (t) => t.job_id },
  { key: "node", title: "Node", render: (t) => <IdLink id={t.node_id} href={t.node_id ? `/nodes/${t.node_id}` : undefined} />, sort: (t) => t.node_id },
  { key: "pid", title: "Worker pid", render: (t) => t.worker_pid || "–", sort: (t) => t.worker_pid },
  { key: "actor", title: "Actor", render: (t) => <IdLink id={t.actor_id} />, sort: (t) => t.actor_id },
  { key: "start", title: "Started", render: (t) => formatTime(t.start_time_ms), sort: (t) => t.start_time_ms },
  { key: "duration", title: "Duration", render: (t) => formatDuration(elapsed(t.start_time_ms, t.end_time_ms)), sort: (t) => elapsed(t.start_time_ms, t.end_time_ms) },
  { key: "error", title: "Error", render: (t) => <span class="ellipsis error-text" title={t.error}>{t.error}</span>, class: "wide" },
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

function TasksBody({ reply, text, state, view }: { reply: TasksReply; text: string; state: string; view: string }) {
  const shown = filterRows(
    reply.tasks.filter((t) => !state || t.state === state),
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
          columns={COLUMNS}
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
  const tasks = usePoll(api.tasks);
  const set = (changes: Record<string, string>) => replaceQuery({ q: text, state, view: view === "table" ? "" : view, ...changes });
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
      <Card>
        <PollView polled={tasks} what="tasks">
          {(reply) => <TasksBody reply={reply} text={text} state={state} view={view} />}
        </PollView>
      </Card>
    </div>
  );
}
