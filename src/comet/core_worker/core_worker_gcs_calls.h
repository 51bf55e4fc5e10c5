// What both halves of CoreWorker (core_worker.cc, core_worker_actors.cc)
// use for their blocking calls to the GCS. Internal to the core worker.
#pragma once

#include <grpcpp/client_context.h>

#include <chrono>
#include <cstdint>

namespace comet::core {

// How long a blocking call to the GCS may take.
inline constexpr int64_t kGcsTimeoutMs = 30000;

inline void SetDeadline(grpc::ClientContext* ctx) {
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(kGcsTimeoutMs));
}

}  // namespace comet::core
