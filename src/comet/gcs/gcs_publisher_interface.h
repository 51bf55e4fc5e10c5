// GcsPublisher: what the table managers need from pubsub — a way to announce
// a change. Header-only so that managers and their tests depend on the
// interface, not on the pubsub implementation (GcsPubSubManager).
//
// Thread model: implementations are thread-confined to the GCS thread;
// Publish is called there.
#pragma once

#include <cstdint>

#include "proto/gcs_service.pb.h"

namespace comet::gcs {

class GcsPublisher {
 public:
  virtual ~GcsPublisher() = default;

  // Publishes `message` (its sequence is assigned here, any value set by the
  // caller is replaced) and returns the assigned sequence number.
  virtual int64_t Publish(rpc::PubMessage message) = 0;
};

}  // namespace comet::gcs
