// Objects: every reference held by a live worker or driver (like `ray
// memory`), and each node's object store: use, spilling, restores and pulls.
import { api } from "../api";
import { Card, IdLink, PageHeader, PollView, Stat, UsageBar } from "../components/common";
import { DataTable, FilterBox, filterRows, StateSelect, type Column } from "../components/DataTable";
import { formatBytes, middleId, plural } from "../format";
import { usePoll } from "../poll";
import { replaceQuery, useLocation } from "../router";
import type { MemoryReply, ObjectInfo, ObjectStoreInfo } from "../types";

const REFERENCE_TYPES = ["LOCAL_REFERENCE", "USED_BY_PENDING_TASK", "CAPTURED_IN_OBJECT", "UNKNOWN_STATUS"];

const COLUMNS: Column<ObjectInfo>[] = [
  { key: "id", title: "Object id", render: (o) => <span class="mono" title={o.object_id}>{middleId(o.object_id)}</span>, sort: (o) => o.object_id },
  { key: "size", title: "Size", render: (o) => (o.size < 0 ? <span class="muted">not created</span> : formatBytes(o.size)), sort: (o) => o.size },
  { key: "where", title: "Where", render: (o) => (o.location === "plasma" ? "object store" : o.location), sort: (o) => o.location },
  { key: "node", title: "Node", render: (o) => <IdLink id={o.node_id} href={o.node_id ? `/nodes/${o.node_id}` : undefined} />, sort: (o) => o.node_id },
  { key: "ref", title: "Reference type", render: (o) => <span class="mono">{o.reference_type}</span>, sort: (o) => o.reference_type },
  { key: "ownership", title: "Ownership", render: (o) => o.ownership, sort: (o) => o.ownership },
  { key: "holder", title: "Held by", render: (o) => `${o.type.toLowerCase()} pid ${o.pid}`, sort: (o) => `${o.type} ${o.pid}` },
  { key: "job", title: "Job", render: (o) => <span class="mono">{o.job_id || "–"}</span>, sort: (o) => o.job_id },
];

const STORE_COLUMNS: Column<ObjectStoreInfo>[] = [
  { key: "node", title: "Node", render: (s) => <IdLink id={s.node_id} href={`/nodes/${s.node_id}`} length={12} />, sort: (s) => s.node_id },
  {
    key: "used",
    title: "In use",
    render: (s) => <UsageBar label={`${s.num_objects} objects`} used={s.used_bytes} total={s.capacity_bytes} format={formatBytes} />,
    sort: (s) => s.used_bytes,
    class: "wide",
  },
  { key: "spilled", title: "Spilled on disk", render: (s) => `${formatBytes(s.spilled_bytes_on_disk)} (${s.num_spilled_objects})`, sort: (s) => s.spilled_bytes_on_disk },
  { key: "spilled_total", title: "Spilled in all", render: (s) => formatBytes(s.bytes_spilled_total), sort: (s) => s.bytes_spilled_total },
  { key: "restored", title: "Restored", render: (s) => formatBytes(s.bytes_restored_total), sort: (s) => s.bytes_restored_total },
  { key: "pulled", title: "Pulled", render: (s) => formatBytes(s.bytes_pulled_total), sort: (s) => s.bytes_pulled_total },
  { key: "evictions", title: "Evictions", render: (s) => s.num_evictions, sort: (s) => s.num_evictions },
];

function MemoryBody({ reply, text, refType }: { reply: MemoryReply; text: string; refType: string }) {
  const shown = filterRows(
    reply.objects.filter((o) => !refType || o.reference_type === refType),
    text,
    (o) => [o.object_id, o.location, o.node_id, o.reference_type, o.ownership, o.type, o.pid, o.job_id],
  );
  const used = reply.nodes.reduce((sum, s) => sum + s.used_bytes, 0);
  const capacity = reply.nodes.reduce((sum, s) => sum + s.capacity_bytes, 0);
  const spilled = reply.nodes.reduce((sum, s) => sum + s.spilled_bytes_on_disk, 0);
  return (
    <>
      <div class="stats">
        <Stat label="References" value={reply.summary.total} sub={`to ${plural(reply.summary.objects, "object")}`} />
        <Stat label="Referenced bytes" value={formatBytes(reply.summary.total_bytes)} />
        <Stat label="Object store in use" value={formatBytes(used)} sub={`of ${formatBytes(capacity)}`} />
        <Stat label="Spilled on disk" value={formatBytes(spilled)} />
        <Stat label="Workers and drivers" value={reply.holders.length} sub={reply.skipped.length ? `${reply.skipped.length} did not answer` : "all answered"} />
      </div>
      <Card title="Object store per node">
        <DataTable columns={STORE_COLUMNS} rows={reply.nodes} rowKey={(s) => s.node_id} empty="No raylet answered." testId="object-stores-table" />
      </Card>
      <Card title="Object references">
        <div class="table-caption">
          {plural(reply.objects.length, "reference")}
          {shown.length !== reply.objects.length && `, ${shown.length} shown`}
        </div>
        <DataTable
          columns={COLUMNS}
          rows={shown}
          rowKey={(o) => `${o.worker_id}:${o.object_id}`}
          initialSort={{ key: "size", descending: true }}
          empty={reply.objects.length ? "No reference matches the filter." : "No worker or driver holds a reference."}
          testId="objects-table"
        />
        {reply.skipped.map((s) => (
          <div key={s.address} class="table-note">
            Skipped {s.type.toLowerCase()} {s.address}
            {s.pid ? ` (pid ${s.pid})` : ""}: {s.error}
          </div>
        ))}
      </Card>
    </>
  );
}

export function ObjectsPage() {
  const { query } = useLocation();
  const text = query.get("q") ?? "";
  const refType = query.get("type") ?? "";
  const memory = usePoll(api.memory);
  return (
    <div data-page="objects">
      <PageHeader title="Objects">
        <FilterBox value={text} placeholder="Filter by id, node, holder pid…" onInput={(q) => replaceQuery({ q, type: refType })} />
        <StateSelect value={refType} options={REFERENCE_TYPES} label="Reference type" allLabel="All reference types" onChange={(t) => replaceQuery({ q: text, type: t })} />
      </PageHeader>
      <PollView polled={memory} what="objects">
        {(reply) => <MemoryBody reply={reply} text={text} refType={refType} />}
      </PollView>
    </div>
  );
}
