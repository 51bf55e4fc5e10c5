#include "src/comet/raylet/resource_set.h"

#include <cmath>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "proto/common.pb.h"
#include "src/comet/common/logging.h"
#include "src/comet/common/status_macros.h"

namespace comet::raylet {
namespace {

constexpr double kMaxUnits = 1e14;

// Whole quantities in full ("8388608", not "8.38861e+06"), fractions with
// up to four decimals.
std::string FormatFixed(int64_t fixed) {
  if (fixed % kResourceUnit == 0) return absl::StrCat(fixed / kResourceUnit);
  std::string text = absl::StrFormat("%.4f", FromFixedPoint(fixed));
  while (text.back() == '0') text.pop_back();
  return text;
}

}  // namespace

absl::StatusOr<int64_t> ToFixedPoint(absl::string_view name, double quantity) {
  if (!std::isfinite(quantity) || quantity < 0 || quantity > kMaxUnits) {
    return absl::InvalidArgumentError(
        absl::StrCat("resource '", name, "' has invalid quantity ", quantity,
                     "; expected a finite number >= 0"));
  }
  return static_cast<int64_t>(std::llround(quantity * kResourceUnit));
}

absl::StatusOr<ResourceSet> ResourceSet::FromDoubles(
    const std::map<std::string, double>& quantities) {
  ResourceSet set;
  for (const auto& [name, quantity] : quantities) {
    if (name.empty()) {
      return absl::InvalidArgumentError("resource names must not be empty");
    }
    ASSIGN_OR_RETURN(int64_t fixed, ToFixedPoint(name, quantity));
    set.SetFixed(name, fixed);
  }
  return set;
}

absl::StatusOr<ResourceSet> ResourceSet::FromProtoMap(
    const google::protobuf::Map<std::string, double>& quantities) {
  return FromDoubles(
      std::map<std::string, double>(quantities.begin(), quantities.end()));
}

int64_t ResourceSet::GetFixed(absl::string_view name) const {
  auto it = quantities_.find(std::string(name));
  return it == quantities_.end() ? 0 : it->second;
}

void ResourceSet::SetFixed(absl::string_view name, int64_t fixed) {
  COMET_CHECK(fixed >= 0) << "negative quantity for " << name;
  if (fixed == 0) {
    quantities_.erase(std::string(name));
  } else {
    quantities_[std::string(name)] = fixed;
  }
}

bool ResourceSet::HasGpus() const {
  for (const auto& [name, fixed] : quantities_) {
    if (name == "GPU" || absl::StartsWith(name, "GPU_group_")) return true;
  }
  return false;
}

bool ResourceSet::Contains(const ResourceSet& other) const {
  for (const auto& [name, fixed] : other.quantities_) {
    if (GetFixed(name) < fixed) return false;
  }
  return true;
}

ResourceSet& ResourceSet::operator+=(const ResourceSet& other) {
  for (const auto& [name, fixed] : other.quantities_) {
    quantities_[name] += fixed;
  }
  return *this;
}

ResourceSet& ResourceSet::operator-=(const ResourceSet& other) {
  for (const auto& [name, fixed] : other.quantities_) {
    int64_t left = GetFixed(name) - fixed;
    COMET_CHECK(left >= 0) << "subtracting " << other.ToString() << " from "
                           << ToString();
    SetFixed(name, left);
  }
  return *this;
}

std::map<std::string, double> ResourceSet::ToDoubles() const {
  std::map<std::string, double> out;
  for (const auto& [name, fixed] : quantities_) {
    out[name] = FromFixedPoint(fixed);
  }
  return out;
}

void ResourceSet::ToProto(rpc::ResourceSet* out) const {
  auto* map = out->mutable_quantities();
  map->clear();
  for (const auto& [name, fixed] : quantities_) {
    (*map)[name] = FromFixedPoint(fixed);
  }
}

std::string ResourceSet::ToString() const {
  return absl::StrCat("{",
                      absl::StrJoin(quantities_, ", ",
                                    [](std::string* out, const auto& entry) {
                                      absl::StrAppend(
                                          out, entry.first, ": ",
                                          FormatFixed(entry.second));
                                    }),
                      "}");
}

}  // namespace comet::raylet
