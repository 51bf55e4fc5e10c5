// Nodes: every node with its machine's CPU, memory, disk and network (read by
// its raylet every second) and its resource usage bars; a node's page adds
// its workers with their CPU and memory, and its log files with a viewer.
import { api } from "../api";
import { Card, Empty, IdLink, PageHeader, PollView, StatusBadge, UsageBar } from "../components/common";
import { DataTable, type Column } from "../components/DataTable";
import { LogFileTable, LogFileView } from "../components/LogFiles";
import { formatBytes, formatTime } from "../format";
import { usePoll } from "../poll";
import { replaceQuery, useLocation } from "../router";
import type { NodeHardware, NodeInfo, NodeUsage, WorkerInfo } from "../types";
import { ResourceBars } from "./Overview";

function NodeTitle({ node }: { node: NodeInfo }) {
  return (
    <span class="node-title">
      <a class="mono" href={`/nodes/${node.node_id}`} data-node-id={node.node_id}>
        {node.node_id}
      </a>
      {node.is_head && <span class="badge badge-info">head</span>}
      <StatusBadge state={node.state} />
    </span>
  );
}

function formatRate(bytesPerS: number): string {
  return `${formatBytes(bytesPerS)}/s`;
}

/** The machine's figures: what the hardware does, not what is reserved. */
export function HardwareBars({ hw }: { hw: NodeHardware }) {
  if (!hw.sampled_at_ms) return <div class="muted">No hardware reading yet.</div>;
  return (
    <div class="usage-list hardware" data-testid="node-hardware">
      <UsageBar
        label={`Machine CPU (${hw.num_cpus} CPUs)`}
        used={hw.cpu_percent}
        total={100}
        format={(v) => `${v.toFixed(0)}%`}
      />
      <UsageBar label="Machine memory" used={hw.memory_used_bytes} total={hw.memory_total_bytes} format={formatBytes} />
      <UsageBar label="Disk (session folder)" used={hw.disk_used_bytes} total={hw.disk_total_bytes} format={formatBytes} />
      <div class="node-meta">
        <span>
          Network ↓ <span data-testid="net-rx">{formatRate(hw.network_receive_bytes_per_s)}</span> ↑{" "}
          <span data-testid="net-tx">{formatRate(hw.network_send_bytes_per_s)}</span>
        </span>
        <span>Workers' memory {formatBytes(hw.workers_rss_bytes)}</span>
        <span>
          Memory-monitor kills <span data-testid="oom-kills">{hw.memory_monitor_kills}</span>
        </span>
      </div>
    </div>
  );
}

function NodeCard({
  node,
  usage,
  workers,
  hardware,
}: {
  node: NodeInfo;
  usage?: NodeUsage;
  workers: WorkerInfo[];
  hardware?: NodeHardware;
}) {
  const busy = workers.filter((w) => !w.is_idle).length;
  return (
    <Card title={<NodeTitle node={node} />} class="node-card">
      <div class="node-meta">
        <span>Address <span class="mono">{node.raylet_address}</span></span>
        <span>Started {formatTime(node.start_time_ms)}</span>
        <span>
          Workers {workers.length} ({busy} busy)
        </span>
        {node.death_reason && <span class="error-text">{node.death_reason}</span>}
      </div>
      {hardware && <HardwareBars hw={hardware} />}
      {usage ? (
        <ResourceBars total={usage.total} used={usage.used} />
      ) : (
        <ResourceBars total={node.total_resources} used={{}} />
      )}
      {usage && usage.pending_demands.length > 0 && (
        <div class="muted">
          {usage.pending_demands.length} lease(s) waiting for resources: {usage.pending_demands.map((d) => JSON.stringify(d)).join(", ")}
        </div>
      )}
    </Card>
  );
}

export function NodesPage() {
  const nodes = usePoll(api.nodes);
  const status = usePoll(api.clusterStatus);
  const workers = usePoll(api.workers);
  const hardware = usePoll(api.hardware);
  return (
    <div data-page="nodes">
      <PageHeader title="Nodes" />
      <PollView polled={nodes} what="nodes">
        {(rows) =>
          rows.length ? (
            <div class="node-list">
              {[...rows]
                .sort((a, b) => Number(b.is_head) - Number(a.is_head) || a.state.localeCompare(b.state))
                .map((n) => (
                  <NodeCard
                    key={n.node_id}
                    node={n}
                    usage={status.data?.nodes.find((u) => u.node_id === n.node_id)}
                    workers={(workers.data?.workers ?? []).filter((w) => w.node_id === n.node_id)}
                    hardware={hardware.data?.nodes.find((h) => h.node_id === n.node_id)}
                  />
                ))}
            </div>
          ) : (
            <Empty>No nodes registered.</Empty>
          )
        }
      </PollView>
    </div>
  );
}

const WORKER_COLUMNS: Column<WorkerInfo>[] = [
  { key: "id", title: "Worker id", render: (w) => <IdLink id={w.worker_id} length={16} />, sort: (w) => w.worker_id },
  { key: "pid", title: "PID", render: (w) => w.pid, sort: (w) => w.pid },
  { key: "state", title: "State", render: (w) => <StatusBadge state={w.is_idle ? "IDLE" : "RUNNING"} />, sort: (w) => (w.is_idle ? 1 : 0) },
  { key: "job", title: "Job", render: (w) => <span class="mono">{w.job_id || "–"}</span>, sort: (w) => w.job_id },
  { key: "cpu", title: "CPU", render: (w) => `${w.cpu_percent.toFixed(0)}%`, sort: (w) => w.cpu_percent },
  { key: "rss", title: "Memory (RSS)", render: (w) => formatBytes(w.rss_bytes), sort: (w) => w.rss_bytes },
  {
    key: "log",
    title: "Log",
    render: (w) => <a href={`/nodes/${w.node_id}?file=${encodeURIComponent(`worker-${w.worker_id}.out`)}`}>stdout</a>,
  },
];

export function NodeDetailPage({ id }: { id: string }) {
  const { query } = useLocation();
  const selected = query.get("file") ?? "";
  const nodes = usePoll(api.nodes);
  const status = usePoll(api.clusterStatus);
  const workers = usePoll(api.workers);
  const hardware = usePoll(api.hardware);
  const node = nodes.data?.find((n) => n.node_id === id);
  const own = (workers.data?.workers ?? []).filter((w) => w.node_id === id);
  return (
    <div data-page="node-detail">
      <PageHeader title="Node">
        <a href="/nodes">← All nodes</a>
      </PageHeader>
      <PollView polled={nodes} what="the node">
        {() =>
          node ? (
            <NodeCard
              node={node}
              usage={status.data?.nodes.find((u) => u.node_id === id)}
              workers={own}
              hardware={hardware.data?.nodes.find((h) => h.node_id === id)}
            />
          ) : (
            <Empty>
              No node <span class="mono">{id}</span>.
            </Empty>
          )
        }
      </PollView>
      <Card title={`Workers (${own.length})`}>
        <PollView polled={workers} what="workers">
          {(reply) => (
            <>
              {reply.errors
                .filter((e) => e.node_id === id)
                .map((e) => (
                  <div key={e.node_id} class="error-text">
                    {e.error}
                  </div>
                ))}
              <DataTable columns={WORKER_COLUMNS} rows={own} rowKey={(w) => w.worker_id} empty="No workers." testId="workers-table" />
            </>
          )}
        </PollView>
      </Card>
      {selected && <LogFileView nodeId={id} filename={selected} onClose={() => replaceQuery({})} />}
      <LogFileTable
        nodeId={id}
        selected={{ nodeId: id, filename: selected }}
        href={(_, f) => `/nodes/${id}?file=${encodeURIComponent(f)}`}
        onSelect={(_, f) => replaceQuery({ file: f })}
      />
    </div>
  );
}
