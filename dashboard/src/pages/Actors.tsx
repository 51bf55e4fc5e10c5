// Actors: every actor the GCS knows, filterable by text, state and job; and
// one actor's page with its facts, its tasks and its worker's log.
import type { ComponentChildren } from "preact";
import { api } from "../api";
import { Card, Empty, Facts, IdLink, JobFilterChip, PageHeader, PollView, StatusBadge } from "../components/common";
import { DataTable, FilterBox, filterRows, StateSelect, type Column } from "../components/DataTable";
import { LogFileView } from "../components/LogFiles";
import { formatResources, formatTime, plural } from "../format";
import { usePoll } from "../poll";
import { replaceQuery, useLocation } from "../router";
import type { ActorInfo } from "../types";
import { TASK_COLUMNS, taskKey } from "./Tasks";

const ACTOR_STATES = ["DEPENDENCIES_UNREADY", "PENDING_CREATION", "ALIVE", "RESTARTING", "DEAD"];

const restarts = (a: ActorInfo) => `${a.num_restarts} / ${a.max_restarts < 0 ? "∞" : a.max_restarts}`;
const actorName = (a: ActorInfo) => (a.name ? `${a.ray_namespace ? a.ray_namespace + "/" : ""}${a.name}` : "–");

const COLUMNS: Column<ActorInfo>[] = [
  { key: "id", title: "Actor id", render: (a) => <IdLink id={a.actor_id} href={`/actors/${a.actor_id}`} length={12} />, sort: (a) => a.actor_id },
  {
    key: "class",
    title: "Class",
    // The module path is in the tooltip and on the actor's page.
    render: (a) => (
      <a class="strong ellipsis narrow" href={`/actors/${a.actor_id}`} title={a.class_name}>
        {a.class_name.slice(a.class_name.lastIndexOf(".") + 1)}
      </a>
    ),
    sort: (a) => a.class_name,
  },
  { key: "name", title: "Name", render: actorName, sort: (a) => a.name },
  { key: "state", title: "State", render: (a) => <StatusBadge state={a.state} />, sort: (a) => a.state },
  { key: "node", title: "Node", render: (a) => <IdLink id={a.node_id} href={a.node_id ? `/nodes/${a.node_id}` : undefined} />, sort: (a) => a.node_id },
  { key: "pid", title: "PID", render: (a) => a.pid || "–", sort: (a) => a.pid },
  { key: "job", title: "Job", render: (a) => <span class="mono">{a.job_id || "–"}</span>, sort: (a) => a.job_id },
  { key: "restarts", title: "Restarts", render: restarts, sort: (a) => a.num_restarts },
  { key: "start", title: "Started", render: (a) => formatTime(a.start_time_ms), sort: (a) => a.start_time_ms },
  { key: "death", title: "Death cause", render: (a) => <span class="ellipsis narrow" title={a.death_cause}>{a.death_cause || "–"}</span>, class: "wide" },
];

export function ActorsPage() {
  const { query } = useLocation();
  const text = query.get("q") ?? "";
  const state = query.get("state") ?? "";
  const job = query.get("job") ?? "";
  const actors = usePoll(api.actors);
  const set = (changes: Record<string, string>) => replaceQuery({ q: text, state, job, ...changes });
  return (
    <div data-page="actors">
      <PageHeader title="Actors">
        <FilterBox value={text} placeholder="Filter by id, class, name, node, pid…" onInput={(q) => set({ q })} />
        <StateSelect value={state} options={ACTOR_STATES} onChange={(s) => set({ state: s })} />
      </PageHeader>
      {job && <JobFilterChip job={job} onClear={() => set({ job: "" })} />}
      <Card>
        <PollView polled={actors} what="actors">
          {(rows) => {
            const shown = filterRows(
              rows.filter((a) => (!state || a.state === state) && (!job || a.job_id === job)),
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

function ActorFacts({ actor: a }: { actor: ActorInfo }) {
  const facts: [string, ComponentChildren][] = [
    ["Class", <span class="strong">{a.class_name}</span>],
    ["Name", actorName(a)],
    ["State", <StatusBadge state={a.state} />],
    ["Detached", a.is_detached ? "yes" : "no"],
    ["Job", a.job_id ? <a class="mono" href={`/jobs/${a.job_id}`}>{a.job_id}</a> : "–"],
    ["Node", <IdLink id={a.node_id} href={a.node_id ? `/nodes/${a.node_id}` : undefined} length={16} />],
    ["Worker", a.worker_id ? <><IdLink id={a.worker_id} length={16} /> pid {a.pid || "–"}</> : "–"],
    ["Resources", <span class="mono">{formatResources(a.required_resources)}</span>],
    ["Restarts", restarts(a)],
    ["Started", formatTime(a.start_time_ms)],
    ["Ended", formatTime(a.end_time_ms)],
    ["Death cause", a.death_cause ? <span class="error-text">{a.death_cause}</span> : "–"],
  ];
  return <Facts facts={facts} />;
}

/** The tasks the GCS has for one actor: its creation and its method calls. */
function ActorTasks({ actor }: { actor: ActorInfo }) {
  const tasks = usePoll((s) => api.tasks(s, actor.job_id), actor.job_id);
  return (
    <Card title="Tasks">
      <PollView polled={tasks} what="the actor's tasks">
        {(reply) => (
          <DataTable
            columns={TASK_COLUMNS}
            rows={reply.tasks.filter((t) => t.actor_id === actor.actor_id)}
            rowKey={taskKey}
            initialSort={{ key: "start", descending: true }}
            empty="No tasks of this actor yet."
            testId="actor-tasks"
          />
        )}
      </PollView>
    </Card>
  );
}

export function ActorDetailPage({ id }: { id: string }) {
  const actors = usePoll(api.actors);
  return (
    <div data-page="actor-detail">
      <PageHeader title={<>Actor <span class="mono">{id}</span></>}>
        <a href="/actors">← All actors</a>
      </PageHeader>
      <PollView polled={actors} what="the actor">
        {(rows) => {
          const actor = rows.find((a) => a.actor_id === id);
          if (!actor) return <Empty>No actor <span class="mono">{id}</span>.</Empty>;
          const hasWorker = actor.node_id && actor.worker_id;
          return (
            <>
              <Card title="Details">
                <ActorFacts actor={actor} />
              </Card>
              {hasWorker ? (
                <>
                  <LogFileView
                    nodeId={actor.node_id}
                    filename={`worker-${actor.worker_id}.out`}
                    missing="The actor's worker has written nothing to stdout yet."
                  />
                  <LogFileView
                    nodeId={actor.node_id}
                    filename={`worker-${actor.worker_id}.err`}
                    missing="The actor's worker has written nothing to stderr yet."
                  />
                </>
              ) : (
                <Card title="Log">
                  <div class="muted">The actor has no worker yet, so no log.</div>
                </Card>
              )}
              {actor.job_id && <ActorTasks actor={actor} />}
            </>
          );
        }}
      </PollView>
    </div>
  );
}
