// The one Comet configuration table. Each entry is
//   COMET_CONFIG(type, name, default, "doc")
// with type one of int64_t, double, bool, std::string. Every entry becomes a
// typed accessor on comet::Config, is overridable by the COMET_<name> (or
// COMET_<NAME>) environment variable and by `_system_config` in Python's
// init(). Include only with COMET_CONFIG defined; no include guard on purpose.
// clang-format off

// --- Object store (plasma) ---
COMET_CONFIG(int64_t, object_store_memory, 0,
             "Bytes for the node's plasma store; 0 = 30% of RAM capped at "
             "object_store_memory_cap.")
COMET_CONFIG(int64_t, object_store_memory_cap, 200LL * 1024 * 1024 * 1024,
             "Upper bound in bytes for the automatically sized plasma store.")
COMET_CONFIG(int64_t, plasma_create_fallback_timeout_ms, 2000,
             "How long a create waits for memory to free before a file-backed "
             "fallback mapping is used.")
COMET_CONFIG(bool, plasma_fallback_allocation, true,
             "Whether plasma may place objects in file-backed fallback "
             "mappings when shared memory is full.")
COMET_CONFIG(int64_t, plasma_max_message_bytes, 64LL * 1024 * 1024,
             "Largest message accepted on the plasma unix socket.")
COMET_CONFIG(std::string, plasma_spill_dir, "",
             "Where fallback mappings and spilled objects go; empty = "
             "<session_dir>/spill, or /tmp.")
COMET_CONFIG(bool, object_spilling_enabled, true,
             "Whether primary copies are spilled to files under the spill "
             "directory when the store fills up (restored on get).")
COMET_CONFIG(double, object_spilling_threshold, 0.8,
             "Fraction of the store's capacity above which primary copies "
             "are spilled.")
COMET_CONFIG(int64_t, min_spill_bytes, 100LL * 1024 * 1024,
             "Objects are spilled in batches of at least this many bytes "
             "(when that many are spillable), one file per batch.")

// --- Object manager (transfers between nodes) ---
COMET_CONFIG(int64_t, object_manager_chunk_size, 5LL * 1024 * 1024,
             "Bytes per chunk when an object is streamed to another node.")
COMET_CONFIG(int64_t, object_manager_pull_threads, 4,
             "Objects pulled from other nodes at once (one thread each).")
COMET_CONFIG(double, object_manager_max_pull_fraction, 0.7,
             "Bytes being pulled at once stay under this fraction of the "
             "store (one pull is always admitted).")

// --- Scheduling across nodes ---
COMET_CONFIG(double, scheduler_spread_threshold, 0.5,
             "A node keeps lease requests while the demanded resources are "
             "less used than this; above it the least loaded node that fits "
             "them gets them (spillback).")

// --- Core worker ---
COMET_CONFIG(int64_t, max_direct_call_object_size, 100 * 1024,
             "Objects up to this many bytes are returned inline in task "
             "replies and kept in the in-process memory store; larger ones go "
             "to plasma.")
COMET_CONFIG(int64_t, max_tasks_in_flight_per_worker, 8,
             "Tasks pushed ahead to one leased worker for scheduling classes "
             "whose tasks are short (under 5 ms); long tasks go one at a time.")
COMET_CONFIG(int64_t, actor_death_cause_wait_ms, 1000,
             "A call its actor's death interrupted, with no retries left, "
             "waits up to this long for the GCS to say why the actor died, so "
             "that its ActorDiedError names the cause (as Ray waits for death "
             "info); after that it fails without one.")

COMET_CONFIG(int64_t, gcs_rpc_server_reconnect_timeout_s, 60,
             "While the GCS is away (restarting), calls to it from drivers, "
             "workers, raylets and the CLI wait for it to come back for up to "
             "this long (Ray's name and default), then fail with an error that "
             "says so.")

// --- Logging ---
COMET_CONFIG(std::string, log_level, "info",
             "Minimum level written to component logs: debug, info, warning, "
             "error or fatal.")

// --- GCS health checks ---
COMET_CONFIG(int64_t, health_check_period_ms, 1000,
             "How often the GCS health-checks each node.")
COMET_CONFIG(int64_t, health_check_failure_threshold, 5,
             "Consecutive failed health checks after which a node is marked "
             "dead.")

// --- Raylet worker pool ---
COMET_CONFIG(int64_t, worker_idle_timeout_ms, 60000,
             "Idle workers above the pool's minimum are stopped after this "
             "long.")

// --- Memory monitor (raylet) ---
COMET_CONFIG(int64_t, memory_monitor_refresh_ms, 250,
             "How often each raylet reads the node's memory (the cgroup's limit "
             "when set, else /proc/meminfo); 0 turns the memory monitor off.")
COMET_CONFIG(double, memory_usage_threshold, 0.95,
             "Above this fraction of the node's memory in use, the raylet kills "
             "one leased worker (retriable work first, newest first, grouped by "
             "owner); its task fails with OutOfMemoryError or is retried.")

// --- Security (the cluster token itself is never a config entry: see
// src/comet/rpc/cluster_auth.h) ---
COMET_CONFIG(std::string, metrics_auth, "token",
             "\"token\": a node's Prometheus /metrics endpoint needs "
             "Authorization: Bearer <cluster token>; \"none\": it is open "
             "(read-only).")
COMET_CONFIG(int64_t, raylet_max_request_bytes, 64LL * 1024 * 1024,
             "Largest gRPC request a raylet reads; larger ones are refused "
             "(RESOURCE_EXHAUSTED) before they are buffered whole.")
COMET_CONFIG(int64_t, worker_max_request_bytes, 512LL * 1024 * 1024,
             "Largest gRPC request a driver or worker reads (task pushes carry "
             "inline arguments).")

// --- Application metrics (comet.util.metrics) ---
COMET_CONFIG(int64_t, metrics_report_interval_ms, 2000,
             "How often a worker or driver sends its comet.util.metrics to "
             "its raylet's /metrics (while it has any).")

// --- runtime_env ---
COMET_CONFIG(int64_t, runtime_env_max_package_bytes, 100LL * 1024 * 1024,
             "Largest zipped working_dir or py_modules package a driver "
             "uploads; a bigger one is refused at the call site.")

// clang-format on
