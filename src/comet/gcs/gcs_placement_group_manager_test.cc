#include "src/comet/gcs/gcs_placement_group_manager.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "src/comet/common/bundle_resource_name.h"
#include "src/comet/gcs/fake_publisher.h"
#include "src/comet/gcs/in_memory_store_client.h"

namespace comet::gcs {
namespace {

using State = rpc::PlacementGroupTableData;

// Records reservations; the test answers them.
class FakeReserver : public BundleReserver {
 public:
  enum Kind { kPrepare, kCommit, kCancel };
  struct Call {
    Kind kind;
    NodeID node_id;
    std::vector<rpc::Bundle> bundles;
    Callback callback;
  };

  void Prepare(const NodeID& node_id, std::vector<rpc::Bundle> bundles,
               Callback callback) override {
    calls.push_back(
        {kPrepare, node_id, std::move(bundles), std::move(callback)});
  }
  void Commit(const NodeID& node_id, std::vector<rpc::Bundle> bundles,
              Callback callback) override {
    calls.push_back(
        {kCommit, node_id, std::move(bundles), std::move(callback)});
  }
  void Cancel(const NodeID& node_id, std::vector<rpc::Bundle> bundles,
              Callback callback) override {
    calls.push_back(
        {kCancel, node_id, std::move(bundles), std::move(callback)});
  }

  // Answers every unanswered call of `kind` with `status`.
  int Answer(Kind kind, const absl::Status& status = absl::OkStatus()) {
    int answered = 0;
    for (size_t i = 0; i < calls.size(); ++i) {
      if (calls[i].kind != kind || !calls[i].callback) continue;
      auto callback = std::move(calls[i].callback);
      calls[i].callback = nullptr;
      callback(status);
      ++answered;
    }
    return answered;
  }
  int Count(Kind kind) const {
    int n = 0;
    for (const Call& call : calls) n += call.kind == kind;
    return n;
  }
  int Unanswered(Kind kind) const {
    int n = 0;
    for (const Call& call : calls) n += call.kind == kind && call.callback;
    return n;
  }

  std::vector<Call> calls;
};

class GcsPlacementGroupManagerTest : public ::testing::Test {
 protected:
  void SetUp() override { Restart(); }

  void Restart() {
    manager_ = std::make_unique<GcsPlacementGroupManager>(
        io_, &store_, &publisher_, &resources_, &reserver_);
    ASSERT_TRUE(manager_->Initialize().ok());
  }

  NodeID AddNode(double cpus) {
    NodeID id = NodeID::FromRandom();
    rpc::NodeInfo node;
    node.set_node_id(id.Binary());
    (*node.mutable_total_resources()->mutable_quantities())["CPU"] = cpus;
    resources_.OnNodeAdded(node);
    return id;
  }

  // The raylet's report: `cpus` free, plus the bundles it committed.
  void Report(const NodeID& node, double cpus,
              const std::vector<std::string>& committed = {}) {
    rpc::ReportResourceUsageRequest report;
    report.set_node_id(node.Binary());
    (*report.mutable_available()->mutable_quantities())["CPU"] = cpus;
    for (const std::string& name : committed) {
      (*report.mutable_total()->mutable_quantities())[name] = 1000;
    }
    ASSERT_TRUE(resources_.ReportResourceUsage(report).ok());
    manager_->OnResourcesChanged();
  }

  rpc::PlacementGroupTableData Group(
      std::vector<double> cpus,
      rpc::PlacementStrategy strategy = rpc::PLACEMENT_PACK,
      const std::string& name = "") {
    rpc::PlacementGroupTableData group;
    group.set_placement_group_id(PlacementGroupID::FromRandom(kJob).Binary());
    group.set_strategy(strategy);
    group.set_name(name);
    group.set_creator_job_id(kJob.Binary());
    for (double n : cpus) {
      (*group.add_bundles()->mutable_resources())["CPU"] = n;
    }
    return group;
  }

  PlacementGroupID Create(const rpc::PlacementGroupTableData& group) {
    absl::Status status = manager_->CreatePlacementGroup(group);
    EXPECT_TRUE(status.ok()) << status;
    return *PlacementGroupID::FromBinary(group.placement_group_id());
  }

  State::State StateOf(const PlacementGroupID& id) {
    const rpc::PlacementGroupTableData* data = manager_->Get(id);
    EXPECT_NE(data, nullptr);
    return data ? data->state() : State::REMOVED;
  }

  // Answers the prepares, then the commits.
  void Place() {
    reserver_.Answer(FakeReserver::kPrepare);
    reserver_.Answer(FakeReserver::kCommit);
  }

  std::string Marker(const PlacementGroupID& id, int index) {
    return BundleResourceName(kBundleResource, id, index);
  }

  const JobID kJob = JobID::FromInt(7);
  boost::asio::io_context io_;
  InMemoryStoreClient store_;
  FakePublisher publisher_;
  GcsResourceManager resources_;
  FakeReserver reserver_;
  std::unique_ptr<GcsPlacementGroupManager> manager_;
};

TEST_F(GcsPlacementGroupManagerTest, PackGroupIsPreparedCommittedCreated) {
  NodeID node = AddNode(4);
  PlacementGroupID id = Create(Group({1, 2}));
  EXPECT_EQ(StateOf(id), State::PENDING);
  ASSERT_EQ(reserver_.calls.size(), 1u);
  EXPECT_EQ(reserver_.calls[0].kind, FakeReserver::kPrepare);
  EXPECT_EQ(reserver_.calls[0].node_id, node);
  ASSERT_EQ(reserver_.calls[0].bundles.size(), 2u);
  EXPECT_EQ(reserver_.calls[0].bundles[1].index(), 1);
  EXPECT_EQ(reserver_.calls[0].bundles[1].placement_group_id(), id.Binary());

  bool ready = false;
  ASSERT_TRUE(manager_
                  ->WaitUntilReady(id, 60000,
                                   [&](auto reply) { ready = reply.ready(); })
                  .ok());
  EXPECT_EQ(reserver_.Answer(FakeReserver::kPrepare), 1);
  EXPECT_EQ(reserver_.Count(FakeReserver::kCommit), 1);
  EXPECT_FALSE(ready);
  EXPECT_EQ(reserver_.Answer(FakeReserver::kCommit), 1);
  EXPECT_TRUE(ready);
  EXPECT_EQ(StateOf(id), State::CREATED);
  EXPECT_EQ(manager_->Get(id)->bundles(0).node_id(), node.Binary());
  EXPECT_EQ(manager_->num_pending(), 0u);
  const rpc::PubMessage& last = publisher_.messages.back();
  EXPECT_EQ(last.channel(), rpc::PLACEMENT_GROUP_CHANNEL);
  EXPECT_EQ(last.key(), id.Binary());
  EXPECT_EQ(last.placement_group_data().state(), State::CREATED);
}

TEST_F(GcsPlacementGroupManagerTest, PendingGroupIsPlacedWhenResourcesAppear) {
  NodeID node = AddNode(4);
  Report(node, 1);  // Tasks hold 3 CPUs.
  PlacementGroupID id = Create(Group({2}));
  EXPECT_EQ(reserver_.calls.size(), 0u);
  EXPECT_EQ(manager_->num_pending(), 1u);
  Report(node, 4);
  ASSERT_EQ(reserver_.Count(FakeReserver::kPrepare), 1);
  Place();
  EXPECT_EQ(StateOf(id), State::CREATED);
}

TEST_F(GcsPlacementGroupManagerTest, UnreportedBundlesCountAsTaken) {
  NodeID node = AddNode(4);
  PlacementGroupID first = Create(Group({3}));
  Place();
  ASSERT_EQ(StateOf(first), State::CREATED);
  // The raylet's last report predates the commit: 4 CPUs look free.
  PlacementGroupID second = Create(Group({3}));
  EXPECT_EQ(reserver_.Count(FakeReserver::kPrepare), 1);
  Report(node, 1, {Marker(first, 0)});
  EXPECT_EQ(reserver_.Count(FakeReserver::kPrepare), 1);
  EXPECT_EQ(StateOf(second), State::PENDING);
}

TEST_F(GcsPlacementGroupManagerTest, RemovalReleasesAndLetsOthersIn) {
  NodeID node = AddNode(4);
  PlacementGroupID first = Create(Group({2, 2}));
  Place();
  Report(node, 0, {Marker(first, 0), Marker(first, 1)});
  PlacementGroupID second = Create(Group({4}, rpc::PLACEMENT_STRICT_PACK));
  bool removed = false;
  ASSERT_TRUE(
      manager_
          ->WaitUntilReady(first, 60000,
                           [&](auto reply) { removed = reply.removed(); })
          .ok());
  EXPECT_TRUE(removed == false);
  ASSERT_TRUE(manager_->RemovePlacementGroup(first));
  EXPECT_EQ(StateOf(first), State::REMOVED);
  ASSERT_EQ(reserver_.Count(FakeReserver::kCancel), 1);
  EXPECT_EQ(reserver_.calls.back().bundles.size(), 2u);
  EXPECT_EQ(reserver_.calls.back().node_id, node);
  // Removed while waiting: the waiter hears it at once.
  bool removed_now = false;
  ASSERT_TRUE(
      manager_
          ->WaitUntilReady(first, 60000,
                           [&](auto reply) { removed_now = reply.removed(); })
          .ok());
  EXPECT_TRUE(removed_now);
  EXPECT_TRUE(manager_->RemovePlacementGroup(first));  // Again: no-op.
  EXPECT_EQ(reserver_.Count(FakeReserver::kCancel), 1);
  EXPECT_FALSE(
      manager_->RemovePlacementGroup(PlacementGroupID::FromRandom(kJob)));

  EXPECT_EQ(reserver_.Count(FakeReserver::kPrepare), 1);  // Not yet reported.
  Report(node, 4);
  ASSERT_EQ(reserver_.Count(FakeReserver::kPrepare), 2);
  Place();
  EXPECT_EQ(StateOf(second), State::CREATED);
}

TEST_F(GcsPlacementGroupManagerTest, StrictSpreadWaitsForEnoughNodes) {
  NodeID a = AddNode(4);
  PlacementGroupID id = Create(Group({1, 1}, rpc::PLACEMENT_STRICT_SPREAD));
  EXPECT_EQ(reserver_.calls.size(), 0u);
  NodeID b = AddNode(4);
  manager_->OnResourcesChanged();
  ASSERT_EQ(reserver_.Count(FakeReserver::kPrepare), 2);
  EXPECT_NE(reserver_.calls[0].node_id, reserver_.calls[1].node_id);
  Place();
  EXPECT_EQ(StateOf(id), State::CREATED);
  const rpc::PlacementGroupTableData* data = manager_->Get(id);
  EXPECT_NE(data->bundles(0).node_id(), data->bundles(1).node_id());
  for (const rpc::Bundle& bundle : data->bundles()) {
    EXPECT_TRUE(bundle.node_id() == a.Binary() ||
                bundle.node_id() == b.Binary());
  }
}

TEST_F(GcsPlacementGroupManagerTest, FailedPrepareCancelsTheOthersAndRetries) {
  AddNode(4);
  AddNode(4);
  PlacementGroupID id = Create(Group({1, 1}, rpc::PLACEMENT_SPREAD));
  ASSERT_EQ(reserver_.Count(FakeReserver::kPrepare), 2);
  reserver_.calls[0].callback(absl::OkStatus());
  reserver_.calls[0].callback = nullptr;
  reserver_.calls[1].callback(absl::ResourceExhaustedError("no room"));
  reserver_.calls[1].callback = nullptr;
  // Only the node that reserved is released; nothing is committed.
  ASSERT_EQ(reserver_.Count(FakeReserver::kCancel), 1);
  EXPECT_EQ(reserver_.calls.back().node_id, reserver_.calls[0].node_id);
  EXPECT_EQ(reserver_.Count(FakeReserver::kCommit), 0);
  EXPECT_EQ(StateOf(id), State::PENDING);
  // Not retried on a stale view until something changes.
  Create(Group({8}));
  EXPECT_EQ(reserver_.Count(FakeReserver::kPrepare), 2);
  manager_->OnResourcesChanged();
  EXPECT_EQ(reserver_.Count(FakeReserver::kPrepare), 4);
  Place();
  EXPECT_EQ(StateOf(id), State::CREATED);
}

TEST_F(GcsPlacementGroupManagerTest, FailedCommitReleasesEverything) {
  AddNode(4);
  PlacementGroupID id = Create(Group({1}));
  reserver_.Answer(FakeReserver::kPrepare);
  reserver_.Answer(FakeReserver::kCommit, absl::UnavailableError("gone"));
  EXPECT_EQ(reserver_.Count(FakeReserver::kCancel), 1);
  EXPECT_EQ(StateOf(id), State::PENDING);
  EXPECT_TRUE(manager_->Get(id)->bundles(0).node_id().empty());
}

TEST_F(GcsPlacementGroupManagerTest, RemovedDuringPrepareIsReleasedOnReply) {
  AddNode(4);
  PlacementGroupID id = Create(Group({1}));
  ASSERT_TRUE(manager_->RemovePlacementGroup(id));
  EXPECT_EQ(reserver_.Count(FakeReserver::kCancel), 0);  // Prepare in flight.
  reserver_.Answer(FakeReserver::kPrepare);
  EXPECT_EQ(reserver_.Count(FakeReserver::kCancel), 1);
  EXPECT_EQ(reserver_.Count(FakeReserver::kCommit), 0);
  EXPECT_EQ(StateOf(id), State::REMOVED);
  // The next group is placed once the attempt is over.
  Create(Group({1}));
  EXPECT_EQ(reserver_.Unanswered(FakeReserver::kPrepare), 1);
}

TEST_F(GcsPlacementGroupManagerTest, GroupsArePlacedOneAtATime) {
  AddNode(8);
  PlacementGroupID first = Create(Group({1}));
  PlacementGroupID second = Create(Group({1}));
  EXPECT_EQ(reserver_.Count(FakeReserver::kPrepare), 1);
  Place();
  EXPECT_EQ(StateOf(first), State::CREATED);
  EXPECT_EQ(reserver_.Count(FakeReserver::kPrepare), 2);
  Place();
  EXPECT_EQ(StateOf(second), State::CREATED);
}

TEST_F(GcsPlacementGroupManagerTest, BadInputIsRejected) {
  AddNode(4);
  rpc::PlacementGroupTableData group = Group({});
  EXPECT_TRUE(absl::IsInvalidArgument(manager_->CreatePlacementGroup(group)));
  group = Group({1});
  group.mutable_bundles(0)->mutable_resources()->clear();
  EXPECT_TRUE(absl::IsInvalidArgument(manager_->CreatePlacementGroup(group)));
  group = Group({0});
  EXPECT_TRUE(absl::IsInvalidArgument(manager_->CreatePlacementGroup(group)));
  group = Group({-1});
  EXPECT_TRUE(absl::IsInvalidArgument(manager_->CreatePlacementGroup(group)));
  group = Group({1});
  group.set_placement_group_id("short");
  EXPECT_TRUE(absl::IsInvalidArgument(manager_->CreatePlacementGroup(group)));
  EXPECT_TRUE(manager_->GetAll().empty());
  EXPECT_TRUE(reserver_.calls.empty());
}

TEST_F(GcsPlacementGroupManagerTest, NamesAreUniquePerNamespace) {
  AddNode(4);
  PlacementGroupID id = Create(Group({1}, rpc::PLACEMENT_PACK, "trainers"));
  rpc::PlacementGroupTableData same =
      Group({1}, rpc::PLACEMENT_PACK, "trainers");
  EXPECT_TRUE(absl::IsAlreadyExists(manager_->CreatePlacementGroup(same)));
  rpc::PlacementGroupTableData other =
      Group({1}, rpc::PLACEMENT_PACK, "trainers");
  other.set_ray_namespace("other");
  EXPECT_TRUE(manager_->CreatePlacementGroup(other).ok());
  ASSERT_NE(manager_->GetNamed("trainers", ""), nullptr);
  EXPECT_EQ(manager_->GetNamed("trainers", "")->placement_group_id(),
            id.Binary());
  EXPECT_EQ(manager_->GetNamed("nobody", ""), nullptr);
  manager_->RemovePlacementGroup(id);
  EXPECT_EQ(manager_->GetNamed("trainers", ""), nullptr);
  EXPECT_TRUE(manager_->CreatePlacementGroup(same).ok());  // Free again.
  EXPECT_EQ(manager_->GetAll().size(), 3u);
}

TEST_F(GcsPlacementGroupManagerTest, WaitTimesOutAndUnknownIsNotFound) {
  PlacementGroupID id = Create(Group({1}));  // No node: stays pending.
  std::optional<rpc::WaitPlacementGroupUntilReadyReply> answer;
  ASSERT_TRUE(
      manager_->WaitUntilReady(id, 10, [&](auto reply) { answer = reply; })
          .ok());
  io_.run_for(std::chrono::seconds(5));
  ASSERT_TRUE(answer);
  EXPECT_FALSE(answer->ready());
  EXPECT_FALSE(answer->removed());
  EXPECT_TRUE(absl::IsNotFound(manager_->WaitUntilReady(
      PlacementGroupID::FromRandom(kJob), 10, [](auto) { FAIL(); })));

  bool answered = false;
  ASSERT_TRUE(
      manager_->WaitUntilReady(id, 60000, [&](auto) { answered = true; }).ok());
  manager_->Shutdown();
  EXPECT_TRUE(answered);
}

TEST_F(GcsPlacementGroupManagerTest, FinishedJobTakesItsGroupsAlong) {
  AddNode(4);
  PlacementGroupID mine = Create(Group({1}));
  Place();
  rpc::PlacementGroupTableData detached = Group({1});
  detached.set_is_detached(true);
  PlacementGroupID kept = Create(detached);
  Place();
  rpc::PlacementGroupTableData other_job = Group({1});
  other_job.set_creator_job_id(JobID::FromInt(8).Binary());
  PlacementGroupID other = Create(other_job);
  manager_->OnJobFinished(kJob);
  EXPECT_EQ(StateOf(mine), State::REMOVED);
  EXPECT_EQ(StateOf(kept), State::CREATED);
  EXPECT_NE(StateOf(other), State::REMOVED);
}

TEST_F(GcsPlacementGroupManagerTest, BundlesOfADeadNodeArePlacedAgain) {
  NodeID a = AddNode(4);
  PlacementGroupID id = Create(Group({1, 1}, rpc::PLACEMENT_SPREAD));
  NodeID b = AddNode(4);  // Too late for the first placement.
  Place();
  ASSERT_EQ(StateOf(id), State::CREATED);
  resources_.OnNodeRemoved(a);
  manager_->OnNodeRemoved(a);
  ASSERT_EQ(reserver_.Unanswered(FakeReserver::kPrepare), 1);
  EXPECT_EQ(reserver_.calls.back().node_id, b);
  EXPECT_EQ(reserver_.calls.back().bundles.size(), 2u);
  EXPECT_EQ(StateOf(id), State::RESCHEDULING);
  Place();
  EXPECT_EQ(StateOf(id), State::CREATED);
  EXPECT_EQ(manager_->Get(id)->bundles(0).node_id(), b.Binary());
}

TEST_F(GcsPlacementGroupManagerTest, TableSurvivesARestart) {
  NodeID node = AddNode(4);
  PlacementGroupID created = Create(Group({1}, rpc::PLACEMENT_PACK, "kept"));
  Place();
  Report(node, 3, {Marker(created, 0)});
  PlacementGroupID pending = Create(Group({8}));
  Restart();
  EXPECT_EQ(StateOf(created), State::CREATED);
  EXPECT_EQ(StateOf(pending), State::PENDING);
  ASSERT_NE(manager_->GetNamed("kept", ""), nullptr);
  EXPECT_EQ(manager_->GetAll().size(), 2u);
  EXPECT_EQ(manager_->num_pending(), 1u);
}

}  // namespace
}  // namespace comet::gcs
