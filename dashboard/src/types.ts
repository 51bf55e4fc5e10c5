// Shapes of the dashboard backend's REST API (docs/dashboard.md). Times are
// milliseconds since the epoch; ids are lowercase hex.

export type ResourceMap = Record<string, number>;

export interface VersionInfo {
  version: string;
  gcs_address: string;
  session_dir: string;
  tasks_available: boolean;
}

export interface NodeInfo {
  node_id: string;
  state: string;
  node_name: string;
  node_manager_address: string;
  node_manager_port: number;
  raylet_address: string;
  is_head: boolean;
  session_dir: string;
  start_time_ms: number | null;
  end_time_ms: number | null;
  death_reason: string;
  labels: Record<string, string>;
  total_resources: ResourceMap;
}

export interface ActorInfo {
  actor_id: string;
  class_name: string;
  name: string;
  ray_namespace: string;
  state: string;
  job_id: string;
  node_id: string;
  pid: number | null;
  worker_id: string;
  is_detached: boolean;
  num_restarts: number;
  max_restarts: number;
  death_cause: string;
  start_time_ms: number | null;
  end_time_ms: number | null;
  required_resources: ResourceMap;
}

/** A bundle as the GCS reports it; docs/dashboard.md also allows a bare resource map. */
export interface BundleInfo {
  index: number;
  resources: ResourceMap;
  node_id: string;
  placement_group_id?: string;
}

/** The GCS's placement-group fields as they are; only these are relied on. */
export interface PlacementGroupInfo {
  placement_group_id: string;
  name: string;
  strategy: string;
  state: string;
  bundles: (BundleInfo | ResourceMap)[];
  creator_job_id?: string;
  create_time_ms?: number;
  [field: string]: unknown;
}

export interface WorkerInfo {
  node_id: string;
  raylet_address: string;
  worker_id: string;
  pid: number;
  is_idle: boolean;
  job_id: string;
}

export interface WorkersReply {
  workers: WorkerInfo[];
  errors: { node_id: string; error: string }[];
}

export interface TaskInfo {
  task_id: string;
  name: string;
  state: string;
  job_id: string;
  node_id: string;
  worker_id: string;
  actor_id: string;
  start_time_ms: number | null;
  end_time_ms: number | null;
  error: string;
}

export interface TasksReply {
  available: boolean;
  tasks: TaskInfo[];
  message?: string;
}

export interface NodeUsage {
  node_id: string;
  raylet_address: string;
  total: ResourceMap;
  available: ResourceMap;
  used: ResourceMap;
  pending_demands: ResourceMap[];
}

export interface ClusterStatus {
  nodes: NodeUsage[];
  total: ResourceMap;
  available: ResourceMap;
  used: ResourceMap;
  pending_demands: ResourceMap[];
  dead_nodes: number;
}

export interface LogFile {
  name: string;
  size: number;
  mtime_ms: number;
}

export interface LogsReply {
  nodes: { node_id: string; session_dir: string; files: LogFile[] }[];
}

export interface LogFileReply {
  node_id: string;
  filename: string;
  content: string;
  truncated: boolean;
}

export type JobStatus = "PENDING" | "RUNNING" | "SUCCEEDED" | "FAILED" | "STOPPED";

export interface JobDetails {
  type: "SUBMISSION" | "DRIVER";
  submission_id: string | null;
  job_id: string | null;
  entrypoint: string;
  status: JobStatus;
  message: string;
  start_time: number | null;
  end_time: number | null;
  exit_code: number | null;
  driver_pid: number | null;
  metadata: Record<string, string> | null;
  runtime_env: Record<string, unknown> | null;
  driver_log_path?: string | null;
}

export interface MetricsSample {
  time: number;
  cpu_used: number;
  cpu_total: number;
  memory_used: number;
  memory_total: number;
  object_store_used: number;
  object_store_total: number;
  tasks: Record<string, number>;
  actors: Record<string, number>;
}

export interface MetricsHistory {
  interval_s: number;
  window_s: number;
  samples: MetricsSample[];
}

export const TERMINAL_JOB_STATUSES: ReadonlySet<string> = new Set([
  "SUCCEEDED",
  "FAILED",
  "STOPPED",
]);

/** The id a job is addressed by in /api/jobs/{id}: its submission id, else its GCS id. */
export function jobKey(job: JobDetails): string {
  return job.submission_id ?? job.job_id ?? "";
}
