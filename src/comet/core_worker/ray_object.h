// RayObject: a value as the core worker holds it — inline bytes, or a marker
// that the bytes live in the node's plasma store. Immutable once built;
// shared between threads by shared_ptr<const RayObject>.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "proto/common.pb.h"

namespace comet::core {

struct RayObject {
  // Inline data (empty when in_plasma).
  std::string data;
  std::string metadata;
  std::vector<rpc::ObjectReference> nested_refs;
  bool in_plasma = false;
  int64_t size = 0;
  // In plasma: the node (binary id) that holds the primary copy.
  std::string node_id;

  static std::shared_ptr<const RayObject> Inline(std::string data, std::string metadata) {
    auto obj = std::make_shared<RayObject>();
    obj->size = static_cast<int64_t>(data.size() + metadata.size());
    obj->data = std::move(data);
    obj->metadata = std::move(metadata);
    return obj;
  }

  static std::shared_ptr<const RayObject> InPlasma(int64_t size, std::string node_id = "") {
    auto obj = std::make_shared<RayObject>();
    obj->in_plasma = true;
    obj->size = size;
    obj->node_id = std::move(node_id);
    return obj;
  }

  // A system error object: metadata names the error, data carries the message.
  static std::shared_ptr<const RayObject> Error(const std::string& kind,
                                                const std::string& message) {
    return Inline(message, std::string(kErrorMetadataPrefix) + kind);
  }

  // Marks the end of a generator task's stream of items.
  static std::shared_ptr<const RayObject> EndOfStream() { return Inline("", kEndOfStream); }
  static constexpr const char* kEndOfStream = "COMET_STREAM_END";

  // Metadata of errors that the core worker itself creates (the Python layer
  // maps them to comet.exceptions classes).
  static constexpr const char* kErrorMetadataPrefix = "COMET_ERROR:";
};

inline constexpr const char* kWorkerCrashed = "WORKER_CRASHED";
// The raylet's memory monitor killed the worker (OutOfMemoryError).
inline constexpr const char* kOutOfMemory = "OUT_OF_MEMORY";
inline constexpr const char* kTaskCancelled = "TASK_CANCELLED";
inline constexpr const char* kObjectLost = "OBJECT_LOST";
inline constexpr const char* kOwnerDied = "OWNER_DIED";
inline constexpr const char* kObjectFreed = "OBJECT_FREED";
inline constexpr const char* kTaskUnschedulable = "TASK_UNSCHEDULABLE";
inline constexpr const char* kTaskPlacementGroupRemoved = "TASK_PLACEMENT_GROUP_REMOVED";
// A worker could not set up the task's runtime_env (RuntimeEnvSetupError).
inline constexpr const char* kTaskRuntimeEnvSetupFailed = "RUNTIME_ENV_SETUP_FAILED";
inline constexpr const char* kActorDied = "ACTOR_DIED";
// Data: the constructor's serialized error (metadata ERROR layout).
inline constexpr const char* kActorCreationFailed = "ACTOR_CREATION_FAILED";

}  // namespace comet::core
