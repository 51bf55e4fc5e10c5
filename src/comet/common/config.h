// Config: Comet's runtime settings, one typed field per entry of the table in
// config_def.h. A Config is a plain value: it owns copies of its settings and
// has no global instance. Build it once in main() (defaults, then
// FromEnvironment(), then ApplyOverrides() for `_system_config`) and pass it
// down by value or const reference, or copy the fields a component needs into
// its options struct. Not synchronized: share it read-only between threads.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace comet {

// Description of one config entry, for help text and introspection.
struct ConfigEntryInfo {
  std::string name;
  std::string type;           // "int64_t", "double", "bool" or "std::string"
  std::string default_value;  // formatted like Config::ToMap()
  std::string doc;
};

class Config {
 public:
  // Every entry at its default.
  Config() = default;

  // Defaults overridden by COMET_<name> environment variables (the exact
  // entry name, e.g. COMET_object_store_memory, wins over the upper-case
  // spelling COMET_OBJECT_STORE_MEMORY). InvalidArgument on a bad value.
  static absl::StatusOr<Config> FromEnvironment();

  // Sets one entry from its string form. Integers and doubles must parse
  // completely; bools accept true/false/1/0 (any case). Unknown name or bad
  // value -> InvalidArgument naming them; the entry is left unchanged.
  absl::Status Set(absl::string_view name, absl::string_view value);

  // Applies every override (Python's `_system_config`). All names and values
  // are checked first; on error nothing is changed.
  absl::Status ApplyOverrides(const std::map<std::string, std::string>& values);

  // Every entry formatted as a string that Set() accepts.
  std::map<std::string, std::string> ToMap() const;

  // The table itself, in declaration order.
  static std::vector<ConfigEntryInfo> Entries();

  // Typed accessors `name()` and chainable setters `set_name(value)`.
#define COMET_CONFIG(type, name, default_value, doc) \
  const type& name() const { return name##_; }       \
  Config& set_##name(type value) {                   \
    name##_ = std::move(value);                      \
    return *this;                                    \
  }
#include "src/comet/common/config_def.h"
#undef COMET_CONFIG

 private:
#define COMET_CONFIG(type, name, default_value, doc) \
  type name##_ = default_value;
#include "src/comet/common/config_def.h"
#undef COMET_CONFIG
};

// Bytes for the node's object store: object_store_memory() if positive, else
// 30% of physical memory (or of this process's cgroup memory limit, if lower)
// capped at object_store_memory_cap().
int64_t ResolveObjectStoreMemory(const Config& config);

}  // namespace comet
