#include "src/comet/object_manager/plasma/store_runner.h"

#include "src/comet/common/status_macros.h"

namespace comet::plasma {

absl::StatusOr<std::unique_ptr<PlasmaStoreRunner>> PlasmaStoreRunner::Start(
    const PlasmaStoreOptions& options) {
  std::unique_ptr<PlasmaStoreRunner> runner(new PlasmaStoreRunner(options));
  ObjectStoreOptions store_options;
  store_options.capacity = options.capacity;
  store_options.fallback_dir = options.fallback_dir;
  store_options.spill_dir = options.spill_dir;
  store_options.spill_threshold = options.spill_threshold;
  store_options.min_spill_bytes = options.min_spill_bytes;
  ASSIGN_OR_RETURN(runner->store_, ObjectStore::Create(store_options));
  StoreServerOptions server_options;
  server_options.socket_path = options.socket_path;
  server_options.max_message_bytes = options.max_message_bytes;
  server_options.fallback_timeout_ms = options.fallback_timeout_ms;
  runner->server_ = std::make_unique<StoreServer>(runner->thread_.io_context(),
                                                  runner->store_.get(), server_options);
  RETURN_IF_ERROR(runner->server_->Start());
  runner->thread_.Start();
  return runner;
}

PlasmaStoreRunner::~PlasmaStoreRunner() { Stop(); }

StoreStats PlasmaStoreRunner::stats() {
  return thread_.RunSync([this] {
    StoreStats s = store_->stats();
    s.num_pending_creates = static_cast<int64_t>(server_->num_pending_creates());
    s.num_clients = static_cast<int64_t>(server_->num_clients());
    return s;
  });
}

void PlasmaStoreRunner::Stop() {
  if (server_ != nullptr && thread_.IsRunning()) {
    thread_.RunSync([this] { server_->Stop(); });
  }
  thread_.Stop();
  server_.reset();
  store_.reset();
}

}  // namespace comet::plasma
