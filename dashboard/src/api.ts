// The REST client: one function per endpoint of docs/dashboard.md. Every call
// throws ApiError with the backend's {"error": ...} message on a non-2xx
// answer, so pages show one kind of error. A 401 (no session cookie, or one
// from another token) sends the browser to the login page. Mutating calls
// always say Content-Type: application/json, which the server requires.
import type {
  ActorInfo,
  ClusterStatus,
  HardwareReply,
  JobDetails,
  LogFileReply,
  LogsReply,
  MemoryReply,
  MetricsHistory,
  NodeInfo,
  PlacementGroupInfo,
  ScheduleInfo,
  ScheduleRun,
  TasksReply,
  VersionInfo,
  WorkersReply,
} from "./types";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

async function request(path: string, init?: RequestInit): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    if (err instanceof DOMException && err.name === "AbortError") throw err;
    throw new ApiError(0, "cannot reach the dashboard server");
  }
  if (response.status === 401) toLogin();
  if (!response.ok) {
    throw new ApiError(response.status, await errorMessage(response));
  }
  return response;
}

/** Leaves for /login, which comes back to this page once the token is given. */
function toLogin(): void {
  const here = window.location.pathname + window.location.search + window.location.hash;
  window.location.assign(`/login?${new URLSearchParams({ next: here }).toString()}`);
}

const JSON_HEADERS = { "Content-Type": "application/json" };

async function errorMessage(response: Response): Promise<string> {
  const fallback = `${response.status} ${response.statusText}`.trim();
  try {
    const body = (await response.json()) as { error?: unknown };
    return typeof body.error === "string" ? body.error : fallback;
  } catch {
    return fallback;
  }
}

async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  return (await (await request(path, { signal })).json()) as T;
}

async function postJson<T>(path: string, body?: unknown): Promise<T> {
  const init: RequestInit = { method: "POST", headers: JSON_HEADERS };
  if (body !== undefined) init.body = JSON.stringify(body);
  return (await (await request(path, init)).json()) as T;
}

function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== "") q.set(key, String(value));
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

const enc = encodeURIComponent;

export const api = {
  version: (s?: AbortSignal) => getJson<VersionInfo>("/api/version", s),
  nodes: async (s?: AbortSignal) => (await getJson<{ nodes: NodeInfo[] }>("/api/nodes", s)).nodes,
  actors: async (s?: AbortSignal) =>
    (await getJson<{ actors: ActorInfo[] }>("/api/actors", s)).actors,
  placementGroups: async (s?: AbortSignal) =>
    (await getJson<{ placement_groups: PlacementGroupInfo[] }>("/api/placement_groups", s))
      .placement_groups,
  workers: (s?: AbortSignal) => getJson<WorkersReply>("/api/workers", s),
  hardware: (s?: AbortSignal) => getJson<HardwareReply>("/api/hardware", s),
  tasks: (s?: AbortSignal, jobId?: string) => getJson<TasksReply>(`/api/tasks${query({ job_id: jobId })}`, s),
  memory: (s?: AbortSignal) => getJson<MemoryReply>("/api/memory", s),
  clusterStatus: (s?: AbortSignal) => getJson<ClusterStatus>("/api/cluster_status", s),
  metricsHistory: (s?: AbortSignal) => getJson<MetricsHistory>("/api/metrics/history", s),
  logs: (nodeId?: string, s?: AbortSignal) =>
    getJson<LogsReply>(`/api/logs${query({ node_id: nodeId })}`, s),
  logFile: (nodeId: string, filename: string, lines?: number, s?: AbortSignal) =>
    getJson<LogFileReply>(`/api/logs/file${query({ node_id: nodeId, filename, lines })}`, s),
  jobs: (s?: AbortSignal) => getJson<JobDetails[]>("/api/jobs/", s),
  job: (id: string, s?: AbortSignal) => getJson<JobDetails>(`/api/jobs/${enc(id)}`, s),
  jobLogs: async (id: string, s?: AbortSignal) =>
    (await getJson<{ logs: string }>(`/api/jobs/${enc(id)}/logs`, s)).logs,
  stopJob: (id: string) => postJson<{ stopped: boolean }>(`/api/jobs/${enc(id)}/stop`),
  deleteJob: async (id: string) => {
    const init: RequestInit = { method: "DELETE", headers: JSON_HEADERS };
    return (await (await request(`/api/jobs/${enc(id)}`, init)).json()) as { deleted: boolean };
  },
  submitJob: (body: { entrypoint: string; runtime_env?: unknown; metadata?: unknown }) =>
    postJson<{ submission_id: string; job_id: string | null }>("/api/jobs/", body),
  schedules: async (s?: AbortSignal) =>
    (await getJson<{ schedules: ScheduleInfo[] }>("/api/schedules/", s)).schedules,
  scheduleRuns: async (name: string, limit: number, s?: AbortSignal) =>
    (await getJson<{ runs: ScheduleRun[] }>(`/api/schedules/${enc(name)}/runs${query({ limit })}`, s)).runs,
  pauseSchedule: (name: string) => postJson<ScheduleInfo>(`/api/schedules/${enc(name)}/pause`),
  resumeSchedule: (name: string) => postJson<ScheduleInfo>(`/api/schedules/${enc(name)}/resume`),
  deleteSchedule: async (name: string) => {
    const init: RequestInit = { method: "DELETE", headers: JSON_HEADERS };
    return (await (await request(`/api/schedules/${enc(name)}`, init)).json()) as { deleted: boolean };
  },
};

/**
 * Streams /api/jobs/{id}/logs/tail: calls onChunk with each piece of text
 * (the log from its start, then new output) until the job ends and the log is
 * drained, or until signal aborts. Resolves when the stream ends.
 */
export async function streamJobLogs(
  id: string,
  onChunk: (text: string) => void,
  signal: AbortSignal,
): Promise<void> {
  const response = await request(`/api/jobs/${enc(id)}/logs/tail`, { signal });
  if (!response.body) throw new ApiError(0, "this browser cannot stream responses");
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    if (value) onChunk(value);
  }
}
