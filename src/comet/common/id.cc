#include "src/comet/common/id.h"

#include <cassert>

#include "absl/random/random.h"

namespace comet {
namespace id_internal {
namespace {

constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ULL;
constexpr uint64_t kFnvPrime = 0x100000001b3ULL;

// SplitMix64's finalizer: a bijective avalanche mix of 64 bits.
uint64_t Mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

// Stores `value` little-endian into up to 8 bytes of `out`.
void StoreLittleEndian(uint64_t value, uint8_t* out, size_t n) {
  for (size_t i = 0; i < n && i < 8; ++i) out[i] = (value >> (8 * i)) & 0xff;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

void FillRandom(uint8_t* out, size_t n) {
  // absl::BitGen is not thread-safe; one per thread, seeded from the OS.
  thread_local absl::BitGen gen;
  for (size_t i = 0; i < n; i += 8) {
    StoreLittleEndian(gen(), out + i, n - i);
  }
}

void FillHash(absl::string_view input, uint8_t* out, size_t n) {
  for (size_t chunk = 0; chunk * 8 < n; ++chunk) {
    // Each 8-byte chunk is an FNV-1a hash with its own starting state, mixed.
    uint64_t h = kFnvOffset ^ Mix64(chunk + 1);
    for (char c : input) {
      h ^= static_cast<uint8_t>(c);
      h *= kFnvPrime;
    }
    h ^= input.size();
    StoreLittleEndian(Mix64(h), out + chunk * 8, n - chunk * 8);
  }
}

std::string ToHex(const uint8_t* data, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex(2 * n, '0');
  for (size_t i = 0; i < n; ++i) {
    hex[2 * i] = kDigits[data[i] >> 4];
    hex[2 * i + 1] = kDigits[data[i] & 0xf];
  }
  return hex;
}

bool DecodeHex(absl::string_view hex, uint8_t* out, size_t n) {
  if (hex.size() != 2 * n) return false;
  for (size_t i = 0; i < n; ++i) {
    int hi = HexDigit(hex[2 * i]);
    int lo = HexDigit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

}  // namespace id_internal

namespace {

// Concatenation of an ID's bytes with a little-endian 64-bit counter: the
// hash input of the composite constructors.
std::string CounterBytes(uint64_t counter) {
  uint8_t bytes[8];
  id_internal::StoreLittleEndian(counter, bytes, 8);
  return std::string(reinterpret_cast<const char*>(bytes), 8);
}

// Builds an ID of type T from `unique` (T::kUniqueBytes bytes) + `suffix`.
template <typename T>
T Compose(const uint8_t* unique, const std::string& suffix) {
  static_assert(T::kUniqueBytes < T::kSize, "unique part must leave a suffix");
  assert(suffix.size() == T::kSize - T::kUniqueBytes);
  uint8_t bytes[T::kSize];
  std::memcpy(bytes, unique, T::kUniqueBytes);
  std::memcpy(bytes + T::kUniqueBytes, suffix.data(),
              T::kSize - T::kUniqueBytes);
  return T::FromRawBytes(bytes);
}

template <typename T>
T ComposeHashed(absl::string_view hash_input, const std::string& suffix) {
  uint8_t unique[T::kUniqueBytes];
  id_internal::FillHash(hash_input, unique, T::kUniqueBytes);
  return Compose<T>(unique, suffix);
}

template <typename T>
T ComposeNil(const std::string& suffix) {
  uint8_t unique[T::kUniqueBytes];
  std::memset(unique, 0xff, T::kUniqueBytes);
  return Compose<T>(unique, suffix);
}

template <typename T>
T ComposeRandom(const std::string& suffix) {
  uint8_t unique[T::kUniqueBytes];
  id_internal::FillRandom(unique, T::kUniqueBytes);
  return Compose<T>(unique, suffix);
}

// Parses the `U` stored at byte `offset` of `id`.
template <typename U, typename T>
U Slice(const T& id, size_t offset) {
  static_assert(U::kSize <= T::kSize, "slice larger than the ID");
  return U::FromRawBytes(id.Data() + offset);
}

}  // namespace

JobID JobID::FromInt(uint32_t value) {
  JobID id;
  id_internal::StoreLittleEndian(value, id.bytes_.data(), kSize);
  return id;
}

uint32_t JobID::ToInt() const {
  uint32_t value = 0;
  for (size_t i = 0; i < kSize; ++i) value |= uint32_t{bytes_[i]} << (8 * i);
  return value;
}

ActorID ActorID::Of(const JobID& job_id, const TaskID& parent_task_id,
                    size_t parent_task_counter) {
  std::string input = absl::StrCat(job_id.Binary(), parent_task_id.Binary(),
                                   CounterBytes(parent_task_counter));
  return ComposeHashed<ActorID>(input, job_id.Binary());
}

ActorID ActorID::NilFromJob(const JobID& job_id) {
  return ComposeNil<ActorID>(job_id.Binary());
}

JobID ActorID::JobId() const { return Slice<JobID>(*this, kUniqueBytes); }

TaskID TaskID::ForDriverTask(const JobID& job_id) {
  return ComposeNil<TaskID>(ActorID::NilFromJob(job_id).Binary());
}

TaskID TaskID::ForNormalTask(const JobID& job_id, const TaskID& parent_task_id,
                             size_t parent_task_counter) {
  std::string input =
      absl::StrCat("normal", job_id.Binary(), parent_task_id.Binary(),
                   CounterBytes(parent_task_counter));
  return ComposeHashed<TaskID>(input, ActorID::NilFromJob(job_id).Binary());
}

TaskID TaskID::ForActorCreationTask(const ActorID& actor_id) {
  return ComposeNil<TaskID>(actor_id.Binary());
}

TaskID TaskID::ForActorTask(const JobID& job_id, const TaskID& parent_task_id,
                            size_t parent_task_counter,
                            const ActorID& actor_id) {
  std::string input =
      absl::StrCat("actor", job_id.Binary(), parent_task_id.Binary(),
                   CounterBytes(parent_task_counter), actor_id.Binary());
  return ComposeHashed<TaskID>(input, actor_id.Binary());
}

TaskID TaskID::FromRandom(const JobID& job_id) {
  return ComposeRandom<TaskID>(ActorID::NilFromJob(job_id).Binary());
}

ActorID TaskID::ActorId() const { return Slice<ActorID>(*this, kUniqueBytes); }

JobID TaskID::JobId() const { return ActorId().JobId(); }

ObjectID ObjectID::FromIndex(const TaskID& task_id, uint32_t index) {
  ObjectID id;
  std::memcpy(id.bytes_.data(), task_id.Data(), TaskID::kSize);
  id_internal::StoreLittleEndian(index, id.bytes_.data() + TaskID::kSize, 4);
  return id;
}

ObjectID ObjectID::FromRandom() {
  ObjectID id;
  id_internal::FillRandom(id.bytes_.data(), TaskID::kSize);
  id_internal::StoreLittleEndian(0, id.bytes_.data() + TaskID::kSize, 4);
  return id;
}

TaskID ObjectID::TaskId() const { return Slice<TaskID>(*this, 0); }

uint32_t ObjectID::ObjectIndex() const {
  uint32_t value = 0;
  for (size_t i = 0; i < 4; ++i) {
    value |= uint32_t{bytes_[TaskID::kSize + i]} << (8 * i);
  }
  return value;
}

PlacementGroupID PlacementGroupID::FromRandom(const JobID& job_id) {
  return ComposeRandom<PlacementGroupID>(job_id.Binary());
}

JobID PlacementGroupID::JobId() const {
  return Slice<JobID>(*this, kUniqueBytes);
}

}  // namespace comet
