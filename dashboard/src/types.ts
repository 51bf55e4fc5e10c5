// Shapes of the dashboard backend's REST API (docs/dashboard.md). Times are
// milliseconds since the epoch; ids are lowercase hex.

export type ResourceMap = Record<string, number>;

export interface VersionInfo {
  version: string;
  gcs_address: string;
  session_dir: string;
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
  /** Percent of one CPU over the raylet's last second (may pass 100). */
  cpu_percent: number;
  rss_bytes: number;
}

/** A node's machine, as its raylet read /proc in the last second. */
export interface NodeHardware {
  node_id: string;
  raylet_address: string;
  /** 0 until the raylet's first reading. */
  sampled_at_ms: number;
  num_cpus: number;
  /** Of all the machine's CPUs, 0-100. */
  cpu_percent: number;
  memory_total_bytes: number;
  memory_available_bytes: number;
  memory_used_bytes: number;
  disk_total_bytes: number;
  disk_used_bytes: number;
  network_received_bytes: number;
  network_sent_bytes: number;
  network_receive_bytes_per_s: number;
  network_send_bytes_per_s: number;
  workers_rss_bytes: number;
  workers_cpu_percent: number;
  /** Workers the node's memory monitor killed since its raylet started. */
  memory_monitor_kills: number;
}

export interface HardwareReply {
  nodes: NodeHardware[];
  errors: { node_id: string; error: string }[];
}

export interface WorkersReply {
  workers: WorkerInfo[];
  errors: { node_id: string; error: string }[];
}

export type TaskType = "NORMAL_TASK" | "ACTOR_CREATION_TASK" | "ACTOR_TASK";

/** One task attempt (a retried task has one row per attempt). */
export interface TaskInfo {
  task_id: string;
  attempt: number;
  name: string;
  func_name: string;
  type: TaskType;
  state: string;
  job_id: string;
  node_id: string;
  worker_id: string;
  worker_pid: number;
  actor_id: string;
  parent_task_id: string;
  creation_time_ms: number | null;
  start_time_ms: number | null;
  end_time_ms: number | null;
  error: string;
}

export interface TasksReply {
  tasks: TaskInfo[];
  /** Task attempts the GCS dropped (it keeps the newest 100k). */
  dropped: number;
}

/** One reference a worker or driver holds. */
export interface ObjectInfo {
  object_id: string;
  /** Bytes; -1 while the object is not created yet. */
  size: number;
  ownership: "OWNED" | "BORROWED";
  reference_type: string;
  location: "inline" | "plasma" | "pending";
  /** The node of the primary copy (plasma objects). */
  node_id: string;
  local_refs: number;
  submitted_task_refs: number;
  escaped: boolean;
  type: "DRIVER" | "WORKER";
  pid: number;
  ip: string;
  worker_id: string;
  job_id: string;
}

export interface HolderInfo {
  type: "DRIVER" | "WORKER";
  pid: number;
  ip: string;
  port: number;
  worker_id: string;
  node_id: string;
  job_id: string;
  num_objects: number;
}

export interface ObjectStoreInfo {
  node_id: string;
  raylet_address: string;
  capacity_bytes: number;
  used_bytes: number;
  fallback_bytes: number;
  num_objects: number;
  num_evictions: number;
  spilled_bytes_on_disk: number;
  num_spilled_objects: number;
  bytes_spilled_total: number;
  num_objects_spilled_total: number;
  bytes_restored_total: number;
  num_objects_restored_total: number;
  bytes_pulled_total: number;
  num_pulled_total: number;
}

export interface MemoryReply {
  holders: HolderInfo[];
  objects: ObjectInfo[];
  nodes: ObjectStoreInfo[];
  skipped: { type: string; address: string; pid: number | null; node_id: string; error: string }[];
  summary: {
    total: number;
    objects: number;
    total_bytes: number;
    by_reference_type: Record<string, number>;
    by_location: Record<string, number>;
  };
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
  /** The machines: CPU percent of all their CPUs, memory in use and total. */
  machine_cpu_percent: number;
  machine_memory_used: number;
  machine_memory_total: number;
  cpu_used: number;
  cpu_total: number;
  memory_used: number;
  memory_total: number;
  /** Bytes in use in the nodes' object stores, and their capacity. */
  object_store_used: number;
  object_store_total: number;
  /** Bytes of spilled objects on disk. */
  object_store_spilled: number;
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

/** A job schedule (/api/schedules/). */
export interface ScheduleInfo {
  name: string;
  cron: string;
  timezone: string;
  misfire_policy: string;
  concurrency_policy: string;
  entrypoint: string;
  paused: boolean;
  /** Epoch seconds; null while paused. */
  next_run_time: number | null;
}

/** One scheduled time's outcome. */
export interface ScheduleRun {
  scheduled_time: number;
  status: string;
  submission_id: string | null;
  job_status: string | null;
  reason: string;
}
