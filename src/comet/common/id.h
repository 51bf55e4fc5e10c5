// Fixed-size binary identifiers for jobs, actors, tasks, objects, nodes,
// workers and placement groups, laid out like Ray's:
//
//   JobID             4 bytes   little-endian uint32
//   ActorID          16 bytes   12 unique bytes + JobID
//   TaskID           24 bytes    8 unique bytes + ActorID
//   ObjectID         28 bytes   TaskID + 4-byte little-endian index
//   PlacementGroupID 18 bytes   14 unique bytes + JobID
//   NodeID, WorkerID 28 bytes   random
//
// Each ID is a value type that owns its bytes inline (no heap). A
// default-constructed ID is Nil (every byte 0xff). IDs are immutable after
// construction and safe to share between threads; the random factories are
// thread-safe (each thread has its own entropy-seeded generator). Derived
// ("composite") IDs are deterministic functions of their inputs, so retried
// or reconstructed work gets the same IDs.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <ostream>
#include <string>

#include "absl/hash/hash.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace comet {
namespace id_internal {

// Fills `out[0, n)` with bytes from a thread-local, entropy-seeded generator.
void FillRandom(uint8_t* out, size_t n);

// Fills `out[0, n)` with a deterministic hash of `input` (stable across
// processes, machines and builds; not cryptographic).
void FillHash(absl::string_view input, uint8_t* out, size_t n);

// Lower-case hex of `n` bytes.
std::string ToHex(const uint8_t* data, size_t n);

// Decodes `hex` (2*n hex digits, either case) into `out`; false if invalid.
bool DecodeHex(absl::string_view hex, uint8_t* out, size_t n);

}  // namespace id_internal

// Shared implementation of every ID type. `T` is the derived type (CRTP),
// `N` its size in bytes; `T::kTypeName` names the type in error messages.
template <typename T, size_t N>
class BaseID {
 public:
  static constexpr size_t kSize = N;
  static constexpr size_t Size() { return N; }

  // All bytes 0xff.
  static T Nil() { return T(); }

  // Exactly N raw bytes, else InvalidArgument naming the type and sizes.
  static absl::StatusOr<T> FromBinary(absl::string_view binary) {
    if (binary.size() != N) {
      return absl::InvalidArgumentError(absl::StrCat(
          T::kTypeName, " must be ", N, " bytes, got ", binary.size()));
    }
    T id;
    std::memcpy(id.bytes_.data(), binary.data(), N);
    return id;
  }

  // Copies exactly N bytes from `data` (for callers that already know the
  // size, e.g. a fixed-size field of a wire message).
  static T FromRawBytes(const uint8_t* data) {
    T id;
    std::memcpy(id.bytes_.data(), data, N);
    return id;
  }

  // Exactly 2*N hex digits, else InvalidArgument.
  static absl::StatusOr<T> FromHex(absl::string_view hex) {
    T id;
    if (hex.size() != 2 * N ||
        !id_internal::DecodeHex(hex, id.bytes_.data(), N)) {
      return absl::InvalidArgumentError(absl::StrCat(
          T::kTypeName, " hex must be ", 2 * N, " hex digits, got \"", hex,
          "\" (", hex.size(), " characters)"));
    }
    return id;
  }

  bool IsNil() const {
    for (uint8_t b : bytes_) {
      if (b != 0xff) return false;
    }
    return true;
  }

  std::string Binary() const {
    return std::string(reinterpret_cast<const char*>(bytes_.data()), N);
  }
  std::string Hex() const { return id_internal::ToHex(bytes_.data(), N); }
  const uint8_t* Data() const { return bytes_.data(); }

  friend bool operator==(const T& a, const T& b) {
    return a.bytes_ == b.bytes_;
  }
  friend bool operator!=(const T& a, const T& b) {
    return a.bytes_ != b.bytes_;
  }
  friend bool operator<(const T& a, const T& b) { return a.bytes_ < b.bytes_; }

  template <typename H>
  friend H AbslHashValue(H h, const T& id) {
    return H::combine_contiguous(std::move(h), id.bytes_.data(), N);
  }

  friend std::ostream& operator<<(std::ostream& os, const T& id) {
    return os << id.Hex();
  }

 protected:
  BaseID() { bytes_.fill(0xff); }

  // Random bytes in every position.
  static T Random() {
    T id;
    id_internal::FillRandom(id.bytes_.data(), N);
    return id;
  }

  std::array<uint8_t, N> bytes_;
};

class TaskID;

class JobID : public BaseID<JobID, 4> {
 public:
  static constexpr const char* kTypeName = "JobID";
  JobID() = default;

  static JobID FromInt(uint32_t value);
  uint32_t ToInt() const;
};

class ActorID : public BaseID<ActorID, 16> {
 public:
  static constexpr const char* kTypeName = "ActorID";
  static constexpr size_t kUniqueBytes = 12;
  ActorID() = default;

  // Deterministic: the unique part hashes (job, parent task, counter).
  static ActorID Of(const JobID& job_id, const TaskID& parent_task_id,
                    size_t parent_task_counter);
  // Nil unique part, carrying `job_id` (used by non-actor tasks).
  static ActorID NilFromJob(const JobID& job_id);

  JobID JobId() const;
};

class TaskID : public BaseID<TaskID, 24> {
 public:
  static constexpr const char* kTypeName = "TaskID";
  static constexpr size_t kUniqueBytes = 8;
  TaskID() = default;

  // Nil unique part + ActorID::NilFromJob(job_id).
  static TaskID ForDriverTask(const JobID& job_id);
  // Hash of (job, parent, counter) + ActorID::NilFromJob(job_id).
  static TaskID ForNormalTask(const JobID& job_id, const TaskID& parent_task_id,
                              size_t parent_task_counter);
  // Nil unique part + actor_id; differs from the driver task because the
  // actor's unique part is not nil.
  static TaskID ForActorCreationTask(const ActorID& actor_id);
  // Hash of (job, parent, counter, actor) + actor_id.
  static TaskID ForActorTask(const JobID& job_id, const TaskID& parent_task_id,
                             size_t parent_task_counter,
                             const ActorID& actor_id);
  // Random unique part + ActorID::NilFromJob(job_id).
  static TaskID FromRandom(const JobID& job_id);

  ActorID ActorId() const;
  JobID JobId() const;
};

class ObjectID : public BaseID<ObjectID, 28> {
 public:
  static constexpr const char* kTypeName = "ObjectID";
  ObjectID() = default;

  static ObjectID FromIndex(const TaskID& task_id, uint32_t index);
  // Random task part, index 0.
  static ObjectID FromRandom();

  TaskID TaskId() const;
  uint32_t ObjectIndex() const;
};

class NodeID : public BaseID<NodeID, 28> {
 public:
  static constexpr const char* kTypeName = "NodeID";
  NodeID() = default;
  static NodeID FromRandom() { return Random(); }
};

class WorkerID : public BaseID<WorkerID, 28> {
 public:
  static constexpr const char* kTypeName = "WorkerID";
  WorkerID() = default;
  static WorkerID FromRandom() { return Random(); }
};

class PlacementGroupID : public BaseID<PlacementGroupID, 18> {
 public:
  static constexpr const char* kTypeName = "PlacementGroupID";
  static constexpr size_t kUniqueBytes = 14;
  PlacementGroupID() = default;

  // Random unique part + job_id.
  static PlacementGroupID FromRandom(const JobID& job_id);
  JobID JobId() const;
};

}  // namespace comet

namespace std {
#define COMET_ID_STD_HASH_(T)                     \
  template <>                                     \
  struct hash<comet::T> {                         \
    size_t operator()(const comet::T& id) const { \
      return absl::Hash<comet::T>()(id);          \
    }                                             \
  };
COMET_ID_STD_HASH_(JobID)
COMET_ID_STD_HASH_(ActorID)
COMET_ID_STD_HASH_(TaskID)
COMET_ID_STD_HASH_(ObjectID)
COMET_ID_STD_HASH_(NodeID)
COMET_ID_STD_HASH_(WorkerID)
COMET_ID_STD_HASH_(PlacementGroupID)
#undef COMET_ID_STD_HASH_
}  // namespace std
