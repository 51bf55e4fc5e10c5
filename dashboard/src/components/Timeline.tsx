// Tasks per worker over time: one row per worker (grouped by node), one bar
// per task from its start to its end (or to now while it runs), coloured by
// state. Hovering a bar shows its name, state and duration.
import { errorSummary, formatDuration, shortId } from "../format";
import type { TaskInfo } from "../types";
import { useWidth } from "./useWidth";

const ROW_H = 20;
const LABEL_W = 240;
const AXIS_H = 22;
const MAX_TASKS = 3000;

export const TASK_COLORS: Record<string, string> = {
  RUNNING: "#3b82f6",
  FINISHED: "#22c55e",
  FAILED: "#ef4444",
  PENDING: "#f59e0b",
};

interface Row {
  workerId: string;
  workerPid: number;
  nodeId: string;
  tasks: TaskInfo[];
}

function rowsOf(tasks: TaskInfo[]): Row[] {
  const byWorker = new Map<string, Row>();
  for (const task of tasks) {
    const key = task.worker_id || "(unassigned)";
    let row = byWorker.get(key);
    if (!row) byWorker.set(key, (row = { workerId: key, workerPid: task.worker_pid, nodeId: task.node_id, tasks: [] }));
    row.tasks.push(task);
  }
  return [...byWorker.values()].sort(
    (a, b) => a.nodeId.localeCompare(b.nodeId) || a.workerId.localeCompare(b.workerId),
  );
}

function niceStep(spanMs: number): number {
  const target = spanMs / 6;
  for (const step of [100, 250, 500, 1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000]) {
    if (step >= target) return step;
  }
  return 1_800_000;
}

export function Timeline({ tasks, now }: { tasks: TaskInfo[]; now: number }) {
  const { ref, width } = useWidth(800, 400);
  const started = tasks
    .filter((t) => t.start_time_ms)
    .sort((a, b) => (b.start_time_ms ?? 0) - (a.start_time_ms ?? 0))
    .slice(0, MAX_TASKS);
  if (!started.length) {
    return (
      <div class="placeholder" ref={ref}>
        No task has started yet.
      </div>
    );
  }
  const endOf = (t: TaskInfo) => t.end_time_ms || now;
  const t0 = Math.min(...started.map((t) => t.start_time_ms!));
  const t1 = Math.max(t0 + 1000, ...started.map(endOf));
  const rows = rowsOf(started);
  const plotW = width - LABEL_W - 12;
  const x = (t: number) => LABEL_W + ((t - t0) / (t1 - t0)) * plotW;
  const height = AXIS_H + rows.length * ROW_H + 4;
  const step = niceStep(t1 - t0);
  const ticks: number[] = [];
  for (let t = 0; t <= t1 - t0; t += step) ticks.push(t);

  return (
    <div class="timeline" ref={ref} data-testid="task-timeline">
      <svg width={width} height={height} role="img" aria-label="Task timeline by worker">
        {ticks.map((t) => (
          <g key={t}>
            <line class="grid" x1={x(t0 + t)} x2={x(t0 + t)} y1={AXIS_H - 4} y2={height} />
            <text class="axis" x={x(t0 + t)} y={12} text-anchor="middle">
              {t === 0 ? "0 s" : `+${formatDuration(t)}`}
            </text>
          </g>
        ))}
        {rows.map((row, i) => {
          const y = AXIS_H + i * ROW_H;
          return (
            <g key={row.workerId}>
              {i % 2 === 0 && <rect class="row-stripe" x={0} y={y} width={width} height={ROW_H} />}
              <text class="timeline-label" x={6} y={y + 14}>
                <title>{`worker ${row.workerId} (pid ${row.workerPid})\nnode ${row.nodeId}`}</title>
                node {shortId(row.nodeId, 6)} · worker {row.workerPid ? `pid ${row.workerPid}` : shortId(row.workerId, 8)}
              </text>
              {row.tasks.map((task) => {
                const left = x(task.start_time_ms!);
                const w = Math.max(2, x(endOf(task)) - left);
                const duration = endOf(task) - task.start_time_ms!;
                return (
                  <rect
                    key={`${task.task_id}:${task.attempt}`}
                    x={left}
                    y={y + 3}
                    width={w}
                    height={ROW_H - 6}
                    rx={2}
                    fill={TASK_COLORS[task.state] ?? "#94a3b8"}
                  >
                    <title>{`${task.name} (${task.state}${task.attempt ? `, attempt ${task.attempt}` : ""})\n${formatDuration(duration)}${task.error ? `\n${errorSummary(task.error)}` : ""}`}</title>
                  </rect>
                );
              })}
            </g>
          );
        })}
      </svg>
      <div class="legend">
        {Object.entries(TASK_COLORS).map(([state, color]) => (
          <span key={state} class="legend-item">
            <span class="swatch" style={{ background: color }} />
            {state}
          </span>
        ))}
        <span class="legend-item muted">
          {started.length} tasks on {rows.length} workers, from {new Date(t0).toLocaleTimeString([], { hour12: false })}
        </span>
      </div>
    </div>
  );
}
