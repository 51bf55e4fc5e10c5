// comet._raylet.config(): the config table (src/comet/common/config_def.h) as
// this process sees it — defaults, then COMET_<name> variables (a raylet
// gives its workers every entry that way), then `_system_config` overrides —
// so that drivers and workers read the same settings as the daemons instead
// of parsing them by hand.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <map>
#include <string>

#include "absl/strings/numbers.h"
#include "src/comet/common/config.h"

namespace py = pybind11;

namespace comet::pybind {
namespace {

// The value of an entry as Python sees it, from Config::ToMap()'s text.
py::object Typed(const std::string& type, const std::string& text) {
  if (type == "bool") return py::bool_(text == "true");
  if (type == "int64_t") {
    int64_t value = 0;
    if (absl::SimpleAtoi(text, &value)) return py::int_(value);
  } else if (type == "double") {
    double value = 0;
    if (absl::SimpleAtod(text, &value)) return py::float_(value);
  }
  return py::str(text);
}

// `_system_config` values in the text form Config::Set() takes.
std::string AsConfigText(const py::handle& value) {
  if (py::isinstance<py::bool_>(value)) return value.cast<bool>() ? "true" : "false";
  return py::str(value).cast<std::string>();
}

}  // namespace

void BindConfig(py::module_& m) {
  m.def(
      "config",
      [](const py::dict& overrides) {
        auto config = Config::FromEnvironment();
        if (!config.ok()) throw py::value_error(std::string(config.status().message()));
        std::map<std::string, std::string> values;
        for (const auto& [name, value] : overrides) {
          values[py::str(name).cast<std::string>()] = AsConfigText(value);
        }
        absl::Status status = config->ApplyOverrides(values);
        if (!status.ok()) {
          throw py::value_error("_system_config: " + std::string(status.message()));
        }
        std::map<std::string, std::string> text = config->ToMap();
        py::dict out;
        for (const ConfigEntryInfo& entry : Config::Entries()) {
          out[py::str(entry.name)] = Typed(entry.type, text[entry.name]);
        }
        return out;
      },
      py::arg("overrides") = py::dict(),
      "The config table as this process sees it: defaults, then COMET_<name> environment "
      "variables, then `overrides` (a `_system_config` dict). ValueError names an unknown "
      "entry or a bad value.");
}

}  // namespace comet::pybind
