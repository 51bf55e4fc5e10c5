// Actors: every actor the GCS knows, filterable by text and state.
import { api } from "../api";
import { Card, IdLink, PageHeader, PollView, StatusBadge } from "../components/common";
import { DataTable, FilterBox, filterRows, StateSelect, type Column } from "../components/DataTable";
import { formatTime, plural } from "../format";
import { usePoll } from "../poll";
import { replaceQuery, useLocation } from "../router";
import type { ActorInfo } from "../types";

const ACTOR_STATES = ["DEPENDENCIES_UNREADY", "PENDING_CREATION", "ALIVE", "RESTARTING", "DEAD"];

const COLUMNS: Column<ActorInfo>[] = [
  { key: "id", title: "Actor id", render: (a) => <IdLink id={a.actor_id} length={12} />, sort: (a) => a.actor_id },
  { key: "class", title: "Class", render: (a) => <span class="strong">{a.class_name}</span>, sort: (a) => a.class_name },
  { key: "name", title: "Name", render: (a) => (a.name ? `${a.ray_namespace ? a.ray_namespace + "/" : ""}${a.name}` : "–"), sort: (a) => a.name },
  { key: "state", title: "State", render: (a) => <StatusBadge state={a.state} />, sort: (a) => a.state },
  { key: "node", title: "Node", render: (a) => <IdLink id={a.node_id} href={a.node_id ? `/nodes/${a.node_id}` : undefined} />, sort: (a) => a.node_id },
  { key: "pid", title: "PID", render: (a) => a.pid || "–", sort: (a) => a.pid },
  { key: "job", title: "Job", render: (a) => <span class="mono">{a.job_id || "–"}</span>, sort: (a) => a.job_id },
  { key: "restarts", title: "Restarts", render: (a) => `${a.num_restarts} / ${a.max_restarts < 0 ? "∞" : a.max_restarts}`, sort: (a) => a.num_restarts },
  { key: "start", title: "Started", render: (a) => formatTime(a.start_time_ms), sort: (a) => a.start_time_ms },
  { key: "death", title: "Death cause", render: (a) => <span class="ellipsis" title={a.death_cause}>{a.death_cause || "–"}</span>, class: "wide" },
];

export function ActorsPage() {
  const { query } = useLocation();
  const text = query.get("q") ?? "";
  const state = query.get("state") ?? "";
  const actors = usePoll(api.actors);
  return (
    <div data-page="actors">
      <PageHeader title="Actors">
        <FilterBox value={text} placeholder="Filter by id, class, name, node, pid…" onInput={(q) => replaceQuery({ q, state })} />
        <StateSelect value={state} options={ACTOR_STATES} onChange={(s) => replaceQuery({ q: text, state: s })} />
      </PageHeader>
      <Card>
        <PollView polled={actors} what="actors">
          {(rows) => {
            const shown = filterRows(
              rows.filter((a) => !state || a.state === state),
              text,
              (a) => [a.actor_id, a.class_name, a.name, a.ray_namespace, a.state, a.node_id, a.pid, a.job_id],
            );
            const alive = rows.filter((a) => a.state === "ALIVE").length;
            return (
              <>
                <div class="table-caption">
                  {plural(rows.length, "actor")}, {alive} alive{shown.length !== rows.length && `, ${shown.length} shown`}
                </div>
                <DataTable
                  columns={COLUMNS}
                  rows={shown}
                  rowKey={(a) => a.actor_id}
                  initialSort={{ key: "start", descending: true }}
                  empty={rows.length ? "No actor matches the filter." : "No actors yet."}
                  testId="actors-table"
                />
              </>
            );
          }}
        </PollView>
      </Card>
    </div>
  );
}
