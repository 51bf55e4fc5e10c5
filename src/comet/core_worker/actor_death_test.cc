#include "src/comet/core_worker/actor_death.h"

#include <gtest/gtest.h>

#include "src/comet/common/id.h"

namespace comet::core {
namespace {

TEST(ActorDeathTest, MessageHasRaysLayout) {
  ActorID id = ActorID::FromBinary(std::string(16, '\x07')).value();
  rpc::ActorTableData alive;
  alive.set_actor_id(id.Binary());
  alive.set_class_name("app.models.Counter");
  alive.set_name("counter");
  alive.set_ray_namespace("ns");
  alive.set_pid(4242);
  alive.mutable_address()->set_ip_address("10.0.0.2");
  ActorDeath death;
  death.Update(alive);
  // The DEAD update (as kill() makes it locally) carries neither pid,
  // address, name nor namespace: those the actor had stay.
  rpc::ActorTableData dead;
  dead.set_actor_id(id.Binary());
  dead.set_class_name("Counter");
  death.Update(dead);
  EXPECT_EQ(death.Message(kActorKilledCause),
            "The actor died unexpectedly before finishing this task.\n"
            "\tclass_name: Counter\n"
            "\tactor_id: " + id.Hex() + "\n"
            "\tpid: 4242\n"
            "\tname: counter\n"
            "\tnamespace: ns\n"
            "\tip: 10.0.0.2\n"
            "The actor is dead because it was killed by `comet.kill`.");
}

TEST(ActorDeathTest, UnknownFieldsAreLeftOut) {
  ActorDeath death;
  EXPECT_EQ(death.Message(""), "The actor died unexpectedly before finishing this task.");
  death.class_name = "A";
  EXPECT_EQ(death.Message("why"),
            "The actor died unexpectedly before finishing this task.\n\tclass_name: A\nwhy");
}

}  // namespace
}  // namespace comet::core
