// GcsPlacementGroupManager: the placement-group table and its scheduling.
//
// A new group is validated, stored and published PENDING, then placed:
// PlaceBundles (bundle_placement.h) picks nodes from the cluster's resource
// view, and the bundles are reserved in two phases — Prepare on every chosen
// raylet (all or nothing: if one fails, the prepared ones are cancelled and
// the group waits for the next resource change), then Commit — after which
// the group is CREATED. Groups are placed one at a time, oldest first; one
// that does not fit stays PENDING and is retried whenever resources change
// (OnResourcesChanged: raylet reports, new nodes, removed groups, a
// periodic tick). A group losing a node to death goes RESCHEDULING and gets
// those bundles placed again. RemovePlacementGroup releases the bundles
// (CancelResourceReserve) and marks it REMOVED; so does its creator job
// finishing, unless the group is detached. Every change is stored and
// published on PLACEMENT_GROUP_CHANNEL (key = group id, payload = the row).
//
// The resource view: a node's last reported availability, less the bundles
// this manager placed there that the report does not show yet (their
// "bundle_group_<i>_<id>" resource is missing from the reported total), so
// that a report older than a commit does not place a group twice over.
//
// Waiters (WaitPlacementGroupUntilReady) hear when their group is CREATED
// or REMOVED, or when their timeout passes.
//
// Ownership: borrows the store, publisher, resource manager and reserver,
// which must outlive it. Thread model: thread-confined to the io_context
// given at construction (waiters' timers run there); destroy it only when
// that io_context no longer runs.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "proto/common.pb.h"
#include "proto/gcs_service.pb.h"
#include "src/comet/common/id.h"
#include "src/comet/gcs/bundle_placement.h"
#include "src/comet/gcs/bundle_reserver_interface.h"
#include "src/comet/gcs/gcs_publisher_interface.h"
#include "src/comet/gcs/gcs_resource_manager.h"
#include "src/comet/gcs/store_client.h"

namespace comet::gcs {

class GcsPlacementGroupManager {
 public:
  static constexpr absl::string_view kTable = "PLACEMENT_GROUP";
  // Removed groups kept for lookups; older ones are forgotten.
  static constexpr size_t kMaxRemovedGroups = 1000;
  // Longest wait honoured; larger timeouts are clamped to it.
  static constexpr int64_t kMaxWaitMs = 24LL * 3600 * 1000;

  using WaitCallback =
      std::function<void(rpc::WaitPlacementGroupUntilReadyReply reply)>;

  GcsPlacementGroupManager(boost::asio::io_context& io, StoreClient* store,
                           GcsPublisher* publisher,
                           const GcsResourceManager* resources,
                           BundleReserver* reserver);
  ~GcsPlacementGroupManager();

  GcsPlacementGroupManager(const GcsPlacementGroupManager&) = delete;
  GcsPlacementGroupManager& operator=(const GcsPlacementGroupManager&) = delete;

  // Loads the table from the store: groups not CREATED or REMOVED are
  // placed again. Call once, first.
  absl::Status Initialize();

  // Records a new group and starts placing it. InvalidArgument for a bad
  // id, no bundles, an empty bundle or a negative or non-finite quantity;
  // AlreadyExists for a known id or a name taken in the namespace by a
  // group not removed.
  absl::Status CreatePlacementGroup(rpc::PlacementGroupTableData group);

  // Releases the group's bundles and marks it REMOVED. False for an
  // unknown group; removing a removed group changes nothing.
  bool RemovePlacementGroup(const PlacementGroupID& id);

  // The group's row, or nullptr.
  const rpc::PlacementGroupTableData* Get(const PlacementGroupID& id) const;
  // The live (not removed) group of that name in the namespace, or nullptr.
  const rpc::PlacementGroupTableData* GetNamed(
      const std::string& name, const std::string& ray_namespace) const;
  // Every group, oldest first.
  std::vector<rpc::PlacementGroupTableData> GetAll() const;

  // Calls `callback` once the group is CREATED (ready) or REMOVED
  // (removed), or after `timeout_ms` (neither); at once if it is already
  // either. NotFound for an unknown group (the callback never runs).
  absl::Status WaitUntilReady(const PlacementGroupID& id, int64_t timeout_ms,
                              WaitCallback callback);

  // Something may have freed or added resources: retry pending groups.
  void OnResourcesChanged();
  // The node died: its bundles are placed again elsewhere.
  void OnNodeRemoved(const NodeID& node_id);
  // The job finished: its groups that are not detached are removed.
  void OnJobFinished(const JobID& job_id);

  // Answers every waiter (not ready) and stops placing groups.
  void Shutdown();

  size_t num_pending() const { return pending_.size(); }

 private:
  using WaiterId = uint64_t;

  struct Group {
    rpc::PlacementGroupTableData data;
    std::vector<WaiterId> waiters;
    // The last attempt failed: wait for a resource change before the next.
    bool wait_for_change = false;
  };

  struct Waiter {
    PlacementGroupID group_id;
    WaitCallback callback;
    std::unique_ptr<boost::asio::steady_timer> timer;
  };

  // The one reservation in flight.
  struct NodeReservation {
    std::vector<rpc::Bundle> bundles;
    // The raylet may hold the bundles (anything but "they did not fit").
    bool may_hold = false;
  };
  struct Attempt {
    uint64_t serial = 0;
    PlacementGroupID group_id;
    std::map<NodeID, NodeReservation> nodes;
    size_t outstanding = 0;
    bool failed = false;
    bool committing = false;
    // The group was removed meanwhile: release and forget.
    bool abandoned = false;
  };

  static absl::Status Validate(const rpc::PlacementGroupTableData& group);
  void Insert(rpc::PlacementGroupTableData data);
  // Places the oldest pending group that fits, unless one is in flight.
  void TrySchedule();
  std::vector<NodeAvailability> ResourceView() const;
  void StartAttempt(Group& group, const std::vector<NodeID>& nodes);
  void OnReserveReply(uint64_t serial, const NodeID& node_id, bool commit,
                      const absl::Status& status);
  void StartCommit();
  void FinishAttempt();
  void Release(const NodeID& node_id, std::vector<rpc::Bundle> bundles);
  // Releases every bundle the group holds.
  void ReleaseBundles(const rpc::PlacementGroupTableData& data);
  void SetState(Group& group, rpc::PlacementGroupTableData::State state);
  // Stores and publishes the row; a store failure is logged.
  void SaveAndPublish(const rpc::PlacementGroupTableData& data);
  absl::Status Save(const rpc::PlacementGroupTableData& data);
  void Publish(const rpc::PlacementGroupTableData& data);
  void NotifyWaiters(Group& group);
  void AnswerWaiter(WaiterId id, bool ready, bool removed);
  void ForgetOldRemoved();

  boost::asio::io_context& io_;
  StoreClient* const store_;
  GcsPublisher* const publisher_;
  const GcsResourceManager* const resources_;
  BundleReserver* const reserver_;

  absl::flat_hash_map<PlacementGroupID, Group> groups_;
  // Creation order, for GetAll.
  std::deque<PlacementGroupID> order_;
  // Groups to place (PENDING, RESCHEDULING), oldest first.
  std::deque<PlacementGroupID> pending_;
  std::deque<PlacementGroupID> removed_order_;
  // (namespace, name) -> live group.
  std::map<std::pair<std::string, std::string>, PlacementGroupID> names_;
  std::optional<Attempt> attempt_;
  uint64_t next_attempt_serial_ = 1;
  absl::flat_hash_map<WaiterId, Waiter> waiters_;
  WaiterId next_waiter_id_ = 1;
  bool shut_down_ = false;
};

}  // namespace comet::gcs
