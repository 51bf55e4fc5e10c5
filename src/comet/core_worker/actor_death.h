// ActorDeath: who an actor was, as its callers last heard from the GCS, and
// the message its calls fail with once it is dead — Ray's layout, so that
// programs and people reading ActorDiedError see what Ray shows:
//
//   The actor died unexpectedly before finishing this task.
//   \tclass_name: Counter
//   \tactor_id: <hex>
//   \tpid: 4242              (when known)
//   \tname: counter          (when named)
//   \tnamespace: <ns>
//   \tip: 10.0.0.2           (when known)
//   <cause: why it died, a sentence>
//
// comet._private.worker reads the actor_id line back into the exception.
// Pure; thread-compatible.
#pragma once

#include <string>

#include "absl/strings/string_view.h"
#include "src/comet/common/actor_death_causes.h"
#include "proto/common.pb.h"

namespace comet::core {

struct ActorDeath {
  std::string actor_id_hex;
  std::string class_name;  // module-qualified, as the GCS has it
  std::string name;
  std::string ray_namespace;
  int pid = 0;
  std::string ip;

  // Takes what `data` says; an update without a pid or address (a DEAD
  // one) keeps those of the incarnation that ran, and one without a name or
  // namespace (the row kill() makes locally) keeps the earlier ones.
  void Update(const rpc::ActorTableData& data);

  // The message calls fail with; an empty cause says only that it died.
  std::string Message(absl::string_view cause) const;
};

}  // namespace comet::core
