#include "src/comet/core_worker/actor_death.h"

#include "absl/strings/str_cat.h"
#include "src/comet/common/id.h"

namespace comet::core {

void ActorDeath::Update(const rpc::ActorTableData& data) {
  auto id = ActorID::FromBinary(data.actor_id());
  if (id.ok()) actor_id_hex = id->Hex();
  if (!data.class_name().empty()) class_name = data.class_name();
  // An actor's name and namespace never change; a row without them (the
  // caller's own DEAD row after kill()) keeps what an earlier one said.
  if (!data.name().empty()) name = data.name();
  if (!data.ray_namespace().empty()) ray_namespace = data.ray_namespace();
  if (data.pid() != 0) pid = data.pid();
  if (!data.address().ip_address().empty()) ip = data.address().ip_address();
}

std::string ActorDeath::Message(absl::string_view cause) const {
  std::string out = "The actor died unexpectedly before finishing this task.";
  // Ray names the class without its module ("Counter", not "app.Counter").
  absl::string_view short_name = class_name;
  if (size_t dot = short_name.rfind('.'); dot != absl::string_view::npos) {
    short_name.remove_prefix(dot + 1);
  }
  if (!short_name.empty()) absl::StrAppend(&out, "\n\tclass_name: ", short_name);
  if (!actor_id_hex.empty()) absl::StrAppend(&out, "\n\tactor_id: ", actor_id_hex);
  if (pid != 0) absl::StrAppend(&out, "\n\tpid: ", pid);
  if (!name.empty()) absl::StrAppend(&out, "\n\tname: ", name);
  if (!ray_namespace.empty()) absl::StrAppend(&out, "\n\tnamespace: ", ray_namespace);
  if (!ip.empty()) absl::StrAppend(&out, "\n\tip: ", ip);
  if (!cause.empty()) absl::StrAppend(&out, "\n", cause);
  return out;
}

}  // namespace comet::core
