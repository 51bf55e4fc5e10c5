#include "src/comet/common/id.h"

#include <set>
#include <sstream>
#include <thread>
#include <unordered_set>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "gtest/gtest.h"

namespace comet {
namespace {

TEST(IdTest, Sizes) {
  EXPECT_EQ(JobID::Size(), 4u);
  EXPECT_EQ(ActorID::Size(), 16u);
  EXPECT_EQ(TaskID::Size(), 24u);
  EXPECT_EQ(ObjectID::Size(), 28u);
  EXPECT_EQ(NodeID::Size(), 28u);
  EXPECT_EQ(WorkerID::Size(), 28u);
  EXPECT_EQ(PlacementGroupID::Size(), 18u);
  EXPECT_EQ(ObjectID::FromRandom().Binary().size(), 28u);
  EXPECT_EQ(NodeID::FromRandom().Hex().size(), 56u);
}

TEST(IdTest, NilAndDefault) {
  EXPECT_TRUE(TaskID().IsNil());
  EXPECT_TRUE(ObjectID::Nil().IsNil());
  EXPECT_EQ(JobID::Nil().Hex(), "ffffffff");
  EXPECT_FALSE(NodeID::FromRandom().IsNil());
  EXPECT_FALSE(JobID::FromInt(0).IsNil());
}

TEST(IdTest, BinaryAndHexRoundTrip) {
  NodeID node = NodeID::FromRandom();
  auto from_binary = NodeID::FromBinary(node.Binary());
  ASSERT_TRUE(from_binary.ok()) << from_binary.status();
  EXPECT_EQ(*from_binary, node);

  auto from_hex = NodeID::FromHex(node.Hex());
  ASSERT_TRUE(from_hex.ok()) << from_hex.status();
  EXPECT_EQ(*from_hex, node);

  std::string upper = JobID::FromInt(0xabcdef12).Hex();
  for (char& c : upper) c = std::toupper(c);
  EXPECT_EQ(JobID::FromHex(upper)->ToInt(), 0xabcdef12u);

  std::ostringstream os;
  os << JobID::FromInt(1);
  EXPECT_EQ(os.str(), "01000000");
}

TEST(IdTest, BadSizesAreInvalidArgument) {
  auto bad = ObjectID::FromBinary("short");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("ObjectID"), std::string::npos);
  EXPECT_NE(bad.status().message().find("28"), std::string::npos);
  EXPECT_NE(bad.status().message().find("5"), std::string::npos);

  EXPECT_FALSE(JobID::FromHex("0102030").ok());
  EXPECT_FALSE(JobID::FromHex("010203zz").ok());
  EXPECT_EQ(ActorID::FromHex("").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(IdTest, JobIdInt) {
  JobID job = JobID::FromInt(0x01020304);
  EXPECT_EQ(job.ToInt(), 0x01020304u);
  EXPECT_EQ(job.Binary(), std::string("\x04\x03\x02\x01", 4));
}

TEST(IdTest, ActorComposition) {
  JobID job = JobID::FromInt(7);
  TaskID driver = TaskID::ForDriverTask(job);
  ActorID a1 = ActorID::Of(job, driver, 1);
  EXPECT_EQ(a1.JobId(), job);
  EXPECT_EQ(a1, ActorID::Of(job, driver, 1));  // deterministic
  EXPECT_NE(a1, ActorID::Of(job, driver, 2));
  EXPECT_NE(a1, ActorID::Of(JobID::FromInt(8), driver, 1));
  EXPECT_FALSE(a1.IsNil());

  ActorID nil_actor = ActorID::NilFromJob(job);
  EXPECT_EQ(nil_actor.JobId(), job);
  EXPECT_FALSE(nil_actor.IsNil());
  EXPECT_EQ(nil_actor.Hex().substr(0, 24), std::string(24, 'f'));
}

TEST(IdTest, TaskComposition) {
  JobID job = JobID::FromInt(3);
  TaskID driver = TaskID::ForDriverTask(job);
  EXPECT_EQ(driver.JobId(), job);
  EXPECT_EQ(driver.ActorId(), ActorID::NilFromJob(job));

  TaskID t1 = TaskID::ForNormalTask(job, driver, 1);
  EXPECT_EQ(t1, TaskID::ForNormalTask(job, driver, 1));
  EXPECT_NE(t1, TaskID::ForNormalTask(job, driver, 2));
  EXPECT_NE(t1, driver);
  EXPECT_EQ(t1.JobId(), job);
  EXPECT_EQ(t1.ActorId(), ActorID::NilFromJob(job));

  ActorID actor = ActorID::Of(job, driver, 5);
  TaskID creation = TaskID::ForActorCreationTask(actor);
  EXPECT_EQ(creation.ActorId(), actor);
  EXPECT_EQ(creation.JobId(), job);
  EXPECT_NE(creation, driver);

  TaskID method = TaskID::ForActorTask(job, driver, 6, actor);
  EXPECT_EQ(method.ActorId(), actor);
  EXPECT_EQ(method, TaskID::ForActorTask(job, driver, 6, actor));
  EXPECT_NE(method, TaskID::ForActorTask(job, driver, 7, actor));
  EXPECT_NE(method, creation);

  TaskID random = TaskID::FromRandom(job);
  EXPECT_EQ(random.JobId(), job);
  EXPECT_NE(random, TaskID::FromRandom(job));
}

TEST(IdTest, ObjectComposition) {
  TaskID task = TaskID::ForNormalTask(
      JobID::FromInt(1), TaskID::ForDriverTask(JobID::FromInt(1)), 9);
  ObjectID obj = ObjectID::FromIndex(task, 0x01020304);
  EXPECT_EQ(obj.TaskId(), task);
  EXPECT_EQ(obj.ObjectIndex(), 0x01020304u);
  EXPECT_EQ(obj.Binary().substr(24), std::string("\x04\x03\x02\x01", 4));
  EXPECT_NE(ObjectID::FromIndex(task, 1), ObjectID::FromIndex(task, 2));

  ObjectID random = ObjectID::FromRandom();
  EXPECT_EQ(random.ObjectIndex(), 0u);
  EXPECT_NE(random, ObjectID::FromRandom());
}

TEST(IdTest, PlacementGroup) {
  JobID job = JobID::FromInt(42);
  PlacementGroupID pg = PlacementGroupID::FromRandom(job);
  EXPECT_EQ(pg.JobId(), job);
  EXPECT_NE(pg, PlacementGroupID::FromRandom(job));
}

TEST(IdTest, OrderingAndHashing) {
  absl::flat_hash_map<ObjectID, int> by_id;
  std::unordered_set<ObjectID> std_set;
  std::set<ObjectID> ordered;
  TaskID task = TaskID::FromRandom(JobID::FromInt(1));
  for (uint32_t i = 0; i < 100; ++i) {
    ObjectID id = ObjectID::FromIndex(task, i);
    by_id[id] = i;
    std_set.insert(id);
    ordered.insert(id);
  }
  EXPECT_EQ(by_id.size(), 100u);
  EXPECT_EQ(std_set.size(), 100u);
  EXPECT_EQ(ordered.size(), 100u);
  EXPECT_EQ(by_id[ObjectID::FromIndex(task, 17)], 17);
  EXPECT_TRUE(std_set.count(ObjectID::FromIndex(task, 99)));
  EXPECT_LT(ObjectID::FromIndex(task, 0), ObjectID::FromIndex(task, 1));
  EXPECT_FALSE(ObjectID::FromIndex(task, 1) < ObjectID::FromIndex(task, 1));
}

TEST(IdTest, RandomIsThreadSafeAndUnique) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 1000;
  std::vector<std::vector<WorkerID>> ids(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&ids, t] {
      for (int i = 0; i < kPerThread; ++i) {
        ids[t].push_back(WorkerID::FromRandom());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  absl::flat_hash_set<WorkerID> all;
  for (const auto& v : ids) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kPerThread));
}

}  // namespace
}  // namespace comet
