#include "src/comet/common/config.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "src/comet/common/status_macros.h"

namespace comet {
namespace {

absl::Status BadValue(absl::string_view name, absl::string_view value,
                      absl::string_view expected) {
  return absl::InvalidArgumentError(absl::StrCat(
      "config entry '", name, "': cannot parse \"", value, "\" as ", expected));
}

absl::Status ParseValue(absl::string_view name, absl::string_view text,
                        int64_t* out) {
  int64_t value;
  if (!absl::SimpleAtoi(text, &value))
    return BadValue(name, text, "an integer");
  *out = value;
  return absl::OkStatus();
}

// Unused until the table has a double entry.
[[maybe_unused]] absl::Status ParseValue(absl::string_view name,
                                         absl::string_view text, double* out) {
  double value;
  if (!absl::SimpleAtod(text, &value)) return BadValue(name, text, "a number");
  *out = value;
  return absl::OkStatus();
}

absl::Status ParseValue(absl::string_view name, absl::string_view text,
                        bool* out) {
  std::string lower = absl::AsciiStrToLower(absl::StripAsciiWhitespace(text));
  if (lower == "true" || lower == "1") {
    *out = true;
  } else if (lower == "false" || lower == "0") {
    *out = false;
  } else {
    return BadValue(name, text, "a bool (true/false/1/0)");
  }
  return absl::OkStatus();
}

absl::Status ParseValue(absl::string_view, absl::string_view text,
                        std::string* out) {
  *out = std::string(text);
  return absl::OkStatus();
}

std::string FormatValue(int64_t value) { return absl::StrCat(value); }
std::string FormatValue(bool value) { return value ? "true" : "false"; }
std::string FormatValue(const std::string& value) { return value; }

// Shortest "%g" form that parses back to the same double.
[[maybe_unused]] std::string FormatValue(double value) {
  for (int precision = 6; precision < 17; ++precision) {
    std::string text = absl::StrFormat("%.*g", precision, value);
    double parsed;
    if (absl::SimpleAtod(text, &parsed) && parsed == value) return text;
  }
  return absl::StrFormat("%.17g", value);
}

// Reads COMET_<name>, falling back to COMET_<NAME>; null if neither is set.
const char* GetEnvFor(absl::string_view name, std::string* var) {
  *var = absl::StrCat("COMET_", name);
  if (const char* value = std::getenv(var->c_str())) return value;
  *var = absl::StrCat("COMET_", absl::AsciiStrToUpper(name));
  return std::getenv(var->c_str());
}

// Memory limit of this process's cgroup (v2, then v1), or -1 if none is set.
int64_t CgroupMemoryLimit() {
  for (const char* path : {"/sys/fs/cgroup/memory.max",
                           "/sys/fs/cgroup/memory/memory.limit_in_bytes"}) {
    std::ifstream file(path);
    std::string text;
    int64_t limit;
    if (file >> text && absl::SimpleAtoi(text, &limit) && limit > 0) {
      return limit;
    }
  }
  return -1;
}

}  // namespace

absl::Status Config::Set(absl::string_view name, absl::string_view value) {
#define COMET_CONFIG(type, entry, default_value, doc) \
  if (name == #entry) return ParseValue(#entry, value, &entry##_);
#include "src/comet/common/config_def.h"
#undef COMET_CONFIG
  return absl::InvalidArgumentError(
      absl::StrCat("unknown config entry '", name, "'"));
}

absl::Status Config::ApplyOverrides(
    const std::map<std::string, std::string>& values) {
  Config updated = *this;
  for (const auto& [name, value] : values) {
    RETURN_IF_ERROR(updated.Set(name, value));
  }
  *this = std::move(updated);
  return absl::OkStatus();
}

absl::StatusOr<Config> Config::FromEnvironment() {
  Config config;
  for (const ConfigEntryInfo& entry : Entries()) {
    std::string var;
    const char* value = GetEnvFor(entry.name, &var);
    if (value == nullptr) continue;
    absl::Status status = config.Set(entry.name, value);
    if (!status.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("environment variable ", var, ": ", status.message()));
    }
  }
  return config;
}

std::map<std::string, std::string> Config::ToMap() const {
  std::map<std::string, std::string> values;
#define COMET_CONFIG(type, entry, default_value, doc) \
  values[#entry] = FormatValue(entry##_);
#include "src/comet/common/config_def.h"
#undef COMET_CONFIG
  return values;
}

std::vector<ConfigEntryInfo> Config::Entries() {
  const Config defaults;
  std::vector<ConfigEntryInfo> entries;
#define COMET_CONFIG(type, entry, default_value, doc) \
  entries.push_back({#entry, #type, FormatValue(defaults.entry##_), doc});
#include "src/comet/common/config_def.h"
#undef COMET_CONFIG
  return entries;
}

int64_t ResolveObjectStoreMemory(const Config& config) {
  if (config.object_store_memory() > 0) return config.object_store_memory();
  long pages = sysconf(_SC_PHYS_PAGES);
  long page_size = sysconf(_SC_PAGE_SIZE);
  int64_t total = (pages > 0 && page_size > 0)
                      ? static_cast<int64_t>(pages) * page_size
                      : int64_t{0};
  int64_t cgroup_limit = CgroupMemoryLimit();
  if (cgroup_limit > 0 && cgroup_limit < total) total = cgroup_limit;
  int64_t share = static_cast<int64_t>(static_cast<double>(total) * 0.3);
  return std::min(share, config.object_store_memory_cap());
}

}  // namespace comet
