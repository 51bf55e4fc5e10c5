// Overview: node count, resources used/total, and live charts from the
// backend's metrics history (sampled every 2 s, 10 minutes kept).
import { useState } from "preact/hooks";
import { api } from "../api";
import { Card, Empty, PageHeader, PollView, Stat, UsageBar } from "../components/common";
import { LineChart, type Series } from "../components/LineChart";
import { TASK_COLORS } from "../components/Timeline";
import { formatBytes, formatNumber, formatResource } from "../format";
import { usePoll } from "../poll";
import type { ClusterStatus, MetricsSample, NodeInfo, ResourceMap } from "../types";

const MIB = 1024 * 1024;

const WINDOWS = [
  { label: "1 min", ms: 60_000 },
  { label: "5 min", ms: 300_000 },
  { label: "10 min", ms: 600_000 },
];

const ACTOR_COLORS: Record<string, string> = {
  ALIVE: "#22c55e",
  PENDING_CREATION: "#f59e0b",
  DEPENDENCIES_UNREADY: "#eab308",
  RESTARTING: "#a855f7",
  DEAD: "#ef4444",
};

/** One series per key seen in any sample of samples[i][field]. */
function countSeries(
  samples: MetricsSample[],
  field: "tasks" | "actors",
  colors: Record<string, string>,
): Series[] {
  const keys = new Set<string>();
  for (const s of samples) for (const k of Object.keys(s[field] ?? {})) keys.add(k);
  return [...keys].sort().map((k) => ({
    name: k,
    color: colors[k] ?? "#94a3b8",
    values: samples.map((s) => s[field]?.[k] ?? 0),
  }));
}

function resourceOrder(a: string, b: string): number {
  const rank = (r: string) => ["CPU", "GPU", "memory", "object_store_memory"].indexOf(r);
  const ra = rank(a);
  const rb = rank(b);
  if (ra >= 0 || rb >= 0) return (ra < 0 ? 99 : ra) - (rb < 0 ? 99 : rb);
  return a.localeCompare(b);
}

export function ResourceBars({ total, used }: { total: ResourceMap; used: ResourceMap }) {
  const names = Object.keys(total).sort(resourceOrder);
  if (!names.length) return <Empty>No resources reported.</Empty>;
  return (
    <div class="usage-list">
      {names.map((name) => (
        <UsageBar
          key={name}
          label={name}
          used={used[name] ?? 0}
          total={total[name]}
          format={(v) => formatResource(name, v)}
        />
      ))}
    </div>
  );
}

function Summary({ status, nodes, sample }: { status: ClusterStatus; nodes: NodeInfo[]; sample?: MetricsSample }) {
  const alive = nodes.filter((n) => n.state === "ALIVE").length;
  const dead = nodes.length - alive;
  const cpuUsed = status.used.CPU ?? 0;
  const cpuTotal = status.total.CPU ?? 0;
  const pending = status.pending_demands.length;
  return (
    <div class="stats">
      <Stat label="Nodes" value={alive} sub={dead ? `${dead} dead` : "all alive"} />
      <Stat label="CPUs in use" value={`${formatNumber(cpuUsed)} / ${formatNumber(cpuTotal)}`} />
      <Stat
        label="Machine CPU"
        value={sample ? `${sample.machine_cpu_percent.toFixed(0)}%` : "–"}
        sub="busy, over every machine"
      />
      <Stat
        label="Machine memory"
        value={sample ? formatBytes(sample.machine_memory_used) : "–"}
        sub={sample ? `of ${formatBytes(sample.machine_memory_total)}` : undefined}
      />
      <Stat
        label="Memory reserved"
        value={formatBytes(status.used.memory ?? 0)}
        sub={`of ${formatBytes(status.total.memory ?? 0)}`}
      />
      <Stat
        label="Object store in use"
        value={sample ? formatBytes(sample.object_store_used) : "–"}
        sub={sample ? `of ${formatBytes(sample.object_store_total)}${sample.object_store_spilled ? `, ${formatBytes(sample.object_store_spilled)} spilled` : ""}` : undefined}
      />
      <Stat label="Pending demands" value={pending} sub={pending ? "waiting for resources" : "none"} />
    </div>
  );
}

function Charts({ samples, windowMs }: { samples: MetricsSample[]; windowMs: number }) {
  const times = samples.map((s) => s.time);
  const last = samples[samples.length - 1];
  const taskSeries = countSeries(samples, "tasks", TASK_COLORS);
  const actorSeries = countSeries(samples, "actors", ACTOR_COLORS);
  const bytes = (v: number) => formatBytes(v);
  return (
    <div class="chart-grid">
      <Card title="CPU in use">
        <LineChart
          title="CPU in use"
          times={times}
          windowMs={windowMs}
          yMax={last?.cpu_total}
          format={formatNumber}
          series={[{ name: "CPU used", color: "#3b82f6", values: samples.map((s) => s.cpu_used) }]}
        />
      </Card>
      <Card title="Machine CPU (all nodes)">
        <LineChart
          title="Machine CPU"
          times={times}
          windowMs={windowMs}
          yMax={100}
          format={(v) => `${v.toFixed(0)}%`}
          series={[{ name: "CPU busy", color: "#2563eb", values: samples.map((s) => s.machine_cpu_percent ?? 0) }]}
        />
      </Card>
      <Card title={`Machine memory in use${last ? ` (of ${formatBytes(last.machine_memory_total)})` : ""}`}>
        <LineChart
          title="Machine memory"
          times={times}
          windowMs={windowMs}
          format={bytes}
          minTop={MIB}
          series={[{ name: "in use", color: "#7c3aed", values: samples.map((s) => s.machine_memory_used ?? 0) }]}
        />
      </Card>
      <Card title={`Memory reserved${last ? ` (of ${formatBytes(last.memory_total)})` : ""}`}>
        <LineChart
          title="Memory reserved"
          times={times}
          windowMs={windowMs}
          format={bytes}
          minTop={MIB}
          series={[{ name: "memory used", color: "#8b5cf6", values: samples.map((s) => s.memory_used) }]}
        />
      </Card>
      <Card title={`Object store usage${last ? ` (of ${formatBytes(last.object_store_total)})` : ""}`}>
        <LineChart
          title="Object store usage"
          times={times}
          windowMs={windowMs}
          format={bytes}
          minTop={MIB}
          series={[
            { name: "in use", color: "#0ea5e9", values: samples.map((s) => s.object_store_used) },
            { name: "spilled to disk", color: "#f97316", values: samples.map((s) => s.object_store_spilled ?? 0) },
          ]}
        />
      </Card>
      <Card title="Actors by state">
        <LineChart title="Actors by state" times={times} windowMs={windowMs} integer format={formatNumber} series={actorSeries} />
      </Card>
      {taskSeries.length ? (
        <Card title="Tasks by state" class="chart-wide">
          <LineChart title="Tasks by state" times={times} windowMs={windowMs} integer format={formatNumber} series={taskSeries} />
        </Card>
      ) : (
        <div class="muted chart-wide">Tasks by state: no tasks yet.</div>
      )}
    </div>
  );
}

export function OverviewPage() {
  const [windowMs, setWindowMs] = useState(WINDOWS[1].ms);
  const status = usePoll(api.clusterStatus);
  const nodes = usePoll(api.nodes);
  const history = usePoll(api.metricsHistory);
  return (
    <div data-page="overview">
      <PageHeader title="Overview">
        <label class="inline-label">
          Chart window{" "}
          <select
            value={String(windowMs)}
            onChange={(e) => setWindowMs(Number((e.target as HTMLSelectElement).value))}
          >
            {WINDOWS.map((w) => (
              <option key={w.ms} value={String(w.ms)}>
                last {w.label}
              </option>
            ))}
          </select>
        </label>
      </PageHeader>
      <PollView polled={status} what="cluster status">
        {(s) => (
          <>
            <Summary status={s} nodes={nodes.data ?? []} sample={history.data?.samples.at(-1)} />
            <Card title="Cluster resources (used / total)">
              <ResourceBars total={s.total} used={s.used} />
            </Card>
          </>
        )}
      </PollView>
      <PollView polled={history} what="metrics">
        {(h) => <Charts samples={h.samples} windowMs={windowMs} />}
      </PollView>
    </div>
  );
}
