// Names of placement-group bundle resources, shared by the raylet (which
// creates them when a bundle is committed), the GCS (which reads them in
// resource reports) and, in Python, comet.util.scheduling_strategies (which
// renames a task's demand into them).
//
//   BundleResourceName("CPU", G, 2)   "CPU_group_2_<G hex>"   bundle 2 only
//   BundleResourceName("CPU", G, -1)  "CPU_group_<G hex>"     any bundle of G
//
// kBundleResource ("bundle") is the resource every committed bundle carries
// (kBundleResourceUnits of it), so that a task with no demand of its own can
// still target a bundle by asking for a little of it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "src/comet/common/id.h"

namespace comet {

inline constexpr absl::string_view kBundleResource = "bundle";
inline constexpr int64_t kBundleResourceUnits = 1000;

// The group (hex id) a bundle resource name belongs to; nullopt for any
// other name.
inline std::optional<std::string> BundleGroupHex(absl::string_view resource) {
  size_t at = resource.find("_group_");
  if (at == absl::string_view::npos) return std::nullopt;
  size_t last = resource.rfind('_');
  if (last < at + 6) return std::nullopt;
  return std::string(resource.substr(last + 1));
}

// `index` < 0 names the group's wildcard resource.
inline std::string BundleResourceName(absl::string_view resource,
                                      const PlacementGroupID& group_id,
                                      int64_t index) {
  if (index < 0) return absl::StrCat(resource, "_group_", group_id.Hex());
  return absl::StrCat(resource, "_group_", index, "_", group_id.Hex());
}

}  // namespace comet
