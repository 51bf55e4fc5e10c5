// Placement groups: the GCS's table with bundles spelled out; the rows' other
// fields (which vary with the GCS) are under "Details".
import { api } from "../api";
import { Card, IdLink, PageHeader, PollView, StatusBadge } from "../components/common";
import { DataTable, FilterBox, filterRows, type Column } from "../components/DataTable";
import { formatResources, formatTime, shortId } from "../format";
import { usePoll } from "../poll";
import { replaceQuery, useLocation } from "../router";
import type { BundleInfo, PlacementGroupInfo, ResourceMap } from "../types";

/** A bundle in either shape: {index, resources, node_id} or a bare resource map. */
function normalize(bundle: BundleInfo | ResourceMap, i: number): BundleInfo {
  if (typeof bundle.resources === "object" && bundle.resources !== null) {
    const b = bundle as BundleInfo;
    return { index: b.index ?? i, resources: b.resources, node_id: b.node_id ?? "" };
  }
  return { index: i, resources: bundle as ResourceMap, node_id: "" };
}

function Bundle({ bundle }: { bundle: BundleInfo }) {
  return (
    <span class="chip" title={bundle.node_id ? `on node ${bundle.node_id}` : "not placed yet"}>
      #{bundle.index} {formatResources(bundle.resources)}
      {bundle.node_id && <span class="muted"> @ {shortId(bundle.node_id, 6)}</span>}
    </span>
  );
}

const SHOWN_FIELDS = new Set([
  "placement_group_id", "name", "strategy", "state", "bundles", "creator_job_id", "create_time_ms",
]);

function Details({ pg }: { pg: PlacementGroupInfo }) {
  const rest = Object.fromEntries(Object.entries(pg).filter(([k]) => !SHOWN_FIELDS.has(k)));
  if (!Object.keys(rest).length) return <span class="muted">–</span>;
  return (
    <details>
      <summary>more</summary>
      <pre class="json">{JSON.stringify(rest, null, 2)}</pre>
    </details>
  );
}

const strategyName = (s: string) => (s ?? "").replace(/^PLACEMENT_/, "");

const COLUMNS: Column<PlacementGroupInfo>[] = [
  { key: "id", title: "Id", render: (p) => <IdLink id={p.placement_group_id} length={12} />, sort: (p) => p.placement_group_id },
  { key: "name", title: "Name", render: (p) => p.name || "–", sort: (p) => p.name },
  { key: "strategy", title: "Strategy", render: (p) => strategyName(p.strategy), sort: (p) => p.strategy },
  { key: "state", title: "State", render: (p) => <StatusBadge state={p.state} />, sort: (p) => p.state },
  {
    key: "bundles",
    title: "Bundles",
    render: (p) => (
      <div class="chips">
        {(p.bundles ?? []).map((b, i) => <Bundle key={i} bundle={normalize(b, i)} />)}
      </div>
    ),
    sort: (p) => p.bundles?.length,
    class: "wide",
  },
  { key: "job", title: "Job", render: (p) => <span class="mono">{p.creator_job_id || "–"}</span>, sort: (p) => p.creator_job_id },
  { key: "created", title: "Created", render: (p) => formatTime(p.create_time_ms), sort: (p) => p.create_time_ms },
  { key: "details", title: "Details", render: (p) => <Details pg={p} /> },
];

export function PlacementGroupsPage() {
  const { query } = useLocation();
  const text = query.get("q") ?? "";
  const groups = usePoll(api.placementGroups);
  return (
    <div data-page="placement-groups">
      <PageHeader title="Placement groups">
        <FilterBox value={text} placeholder="Filter by id, name, strategy, state" onInput={(q) => replaceQuery({ q })} />
      </PageHeader>
      <Card>
        <PollView polled={groups} what="placement groups">
          {(rows) => (
            <DataTable
              columns={COLUMNS}
              rows={filterRows(rows, text, (p) => [p.placement_group_id, p.name, p.strategy, p.state])}
              rowKey={(p) => p.placement_group_id}
              initialSort={{ key: "created", descending: true }}
              empty={rows.length ? "No placement group matches the filter." : "No placement groups."}
              testId="placement-groups-table"
            />
          )}
        </PollView>
      </Card>
    </div>
  );
}
