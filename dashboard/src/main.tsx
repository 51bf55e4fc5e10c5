// The app shell: navigation, the cluster's address, the auto-refresh switch,
// and the route table.
import { render, type ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { api } from "./api";
import { Empty, PageHeader } from "./components/common";
import { ActorDetailPage, ActorsPage } from "./pages/Actors";
import { JobDetailPage, JobsPage } from "./pages/Jobs";
import { LogsPage } from "./pages/Logs";
import { NodeDetailPage, NodesPage } from "./pages/Nodes";
import { ObjectsPage } from "./pages/Objects";
import { OverviewPage } from "./pages/Overview";
import { PlacementGroupsPage } from "./pages/PlacementGroups";
import { SchedulesPage } from "./pages/Schedules";
import { TaskDetailPage, TasksPage } from "./pages/Tasks";
import { RefreshContext, usePoll } from "./poll";
import { interceptLinks, matchRoute, useLocation } from "./router";
import "./styles.css";

interface Route {
  pattern: string;
  render: (params: Record<string, string>) => ComponentChildren;
}

const ROUTES: Route[] = [
  { pattern: "/", render: () => <OverviewPage /> },
  { pattern: "/jobs", render: () => <JobsPage /> },
  { pattern: "/jobs/:id", render: (p) => <JobDetailPage id={p.id} /> },
  { pattern: "/schedules", render: () => <SchedulesPage /> },
  { pattern: "/actors", render: () => <ActorsPage /> },
  { pattern: "/actors/:id", render: (p) => <ActorDetailPage id={p.id} key={p.id} /> },
  { pattern: "/tasks", render: () => <TasksPage /> },
  { pattern: "/tasks/:id", render: (p) => <TaskDetailPage id={p.id} key={p.id} /> },
  { pattern: "/objects", render: () => <ObjectsPage /> },
  { pattern: "/nodes", render: () => <NodesPage /> },
  { pattern: "/nodes/:id", render: (p) => <NodeDetailPage id={p.id} key={p.id} /> },
  { pattern: "/placement-groups", render: () => <PlacementGroupsPage /> },
  { pattern: "/logs", render: () => <LogsPage /> },
];

const NAV = [
  { href: "/", label: "Overview" },
  { href: "/jobs", label: "Jobs" },
  { href: "/schedules", label: "Schedules" },
  { href: "/actors", label: "Actors" },
  { href: "/tasks", label: "Tasks" },
  { href: "/objects", label: "Objects" },
  { href: "/nodes", label: "Nodes" },
  { href: "/placement-groups", label: "Placement groups" },
  { href: "/logs", label: "Logs" },
];

function isActive(href: string, path: string): boolean {
  return href === "/" ? path === "/" : path === href || path.startsWith(`${href}/`);
}

function Sidebar({ path }: { path: string }) {
  return (
    <nav class="sidebar" aria-label="Pages">
      <a class="brand" href="/">
        <svg viewBox="0 0 16 16" width="22" height="22" aria-hidden="true">
          <circle cx="10" cy="6" r="4" fill="#60a5fa" />
          <path d="M1 15 L7.5 8.5" stroke="#93c5fd" stroke-width="2" stroke-linecap="round" />
        </svg>
        Comet
      </a>
      {NAV.map((item) => (
        <a
          key={item.href}
          href={item.href}
          class={isActive(item.href, path) ? "nav-link active" : "nav-link"}
          aria-current={isActive(item.href, path) ? "page" : undefined}
        >
          {item.label}
        </a>
      ))}
    </nav>
  );
}

function TopBar({ enabled, setEnabled }: { enabled: boolean; setEnabled: (on: boolean) => void }) {
  const version = usePoll(api.version);
  const v = version.data;
  return (
    <header class="topbar">
      <div class="cluster-info">
        {v ? (
          <>
            <span class={`dot ${version.error ? "dot-bad" : "dot-ok"}`} title={version.error?.message ?? "connected"} />
            Cluster <span class="mono">{v.gcs_address}</span>
            <span class="muted">· Comet {v.version}</span>
          </>
        ) : version.error ? (
          <>
            <span class="dot dot-bad" /> {version.error.message}
          </>
        ) : (
          "Connecting…"
        )}
      </div>
      <label class="refresh-toggle">
        <input type="checkbox" checked={enabled} onChange={(e) => setEnabled((e.target as HTMLInputElement).checked)} />
        Auto-refresh (2 s)
      </label>
    </header>
  );
}

function App() {
  const { path } = useLocation();
  const [enabled, setEnabled] = useState(true);
  let page: ComponentChildren = null;
  for (const route of ROUTES) {
    const params = matchRoute(route.pattern, path);
    if (params) {
      page = route.render(params);
      break;
    }
  }
  return (
    <RefreshContext.Provider value={{ enabled, setEnabled }}>
      <div class="layout">
        <Sidebar path={path} />
        <div class="main">
          <TopBar enabled={enabled} setEnabled={setEnabled} />
          <main class="content">
            {page ?? (
              <div data-page="not-found">
                <PageHeader title="Not found" />
                <Empty>
                  No page at <span class="mono">{path}</span>. <a href="/">Back to the overview</a>.
                </Empty>
              </div>
            )}
          </main>
        </div>
      </div>
    </RefreshContext.Provider>
  );
}

const root = document.getElementById("app")!;
interceptLinks(root);
render(<App />, root);
