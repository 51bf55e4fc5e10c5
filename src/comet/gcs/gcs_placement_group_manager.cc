#include "src/comet/gcs/gcs_placement_group_manager.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "src/comet/common/bundle_resource_name.h"
#include "src/comet/common/logging.h"
#include "src/comet/common/status_macros.h"

namespace comet::gcs {
namespace {

using State = rpc::PlacementGroupTableData;

PlacementGroupID IdOf(const rpc::PlacementGroupTableData& data) {
  return PlacementGroupID::FromBinary(data.placement_group_id())
      .value_or(PlacementGroupID::Nil());
}

bool IsPending(const rpc::PlacementGroupTableData& data) {
  return data.state() == State::PENDING || data.state() == State::PREPARED ||
         data.state() == State::RESCHEDULING;
}

}  // namespace

GcsPlacementGroupManager::GcsPlacementGroupManager(
    boost::asio::io_context& io, StoreClient* store, GcsPublisher* publisher,
    const GcsResourceManager* resources, BundleReserver* reserver)
    : io_(io),
      store_(store),
      publisher_(publisher),
      resources_(resources),
      reserver_(reserver) {}

GcsPlacementGroupManager::~GcsPlacementGroupManager() {
  for (auto& [id, waiter] : waiters_) waiter.timer->cancel();
}

absl::Status GcsPlacementGroupManager::Initialize() {
  ASSIGN_OR_RETURN(auto rows, store_->GetAll(kTable));
  std::vector<rpc::PlacementGroupTableData> loaded;
  for (const auto& [key, value] : rows) {
    rpc::PlacementGroupTableData data;
    if (!data.ParseFromString(value) || !Validate(data).ok()) {
      COMET_LOG(WARNING) << "skipping a malformed placement group record";
      continue;
    }
    loaded.push_back(std::move(data));
  }
  std::stable_sort(loaded.begin(), loaded.end(),
                   [](const auto& a, const auto& b) {
                     return a.create_time_ms() < b.create_time_ms();
                   });
  for (rpc::PlacementGroupTableData& data : loaded) {
    // An attempt in flight when the GCS stopped is started over.
    if (data.state() == State::PREPARED) data.set_state(State::PENDING);
    if (data.state() == State::PENDING) {
      for (rpc::Bundle& bundle : *data.mutable_bundles())
        bundle.clear_node_id();
    }
    Insert(std::move(data));
  }
  ForgetOldRemoved();
  TrySchedule();
  return absl::OkStatus();
}

absl::Status GcsPlacementGroupManager::Validate(
    const rpc::PlacementGroupTableData& group) {
  ASSIGN_OR_RETURN(PlacementGroupID id,
                   PlacementGroupID::FromBinary(group.placement_group_id()));
  if (id.IsNil()) {
    return absl::InvalidArgumentError("the placement group id is nil");
  }
  if (!rpc::PlacementStrategy_IsValid(group.strategy())) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown placement strategy ", group.strategy()));
  }
  if (!group.soft_target_node_id().empty()) {
    RETURN_IF_ERROR(NodeID::FromBinary(group.soft_target_node_id()).status());
  }
  if (group.bundles().empty()) {
    return absl::InvalidArgumentError(
        "a placement group needs at least one bundle");
  }
  for (int i = 0; i < group.bundles_size(); ++i) {
    bool any = false;
    for (const auto& [name, quantity] : group.bundles(i).resources()) {
      if (name.empty() || !std::isfinite(quantity) || quantity < 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("bundle ", i, " has a bad quantity for resource '",
                         name, "': ", quantity));
      }
      any = any || quantity > 0;
    }
    if (!any) {
      return absl::InvalidArgumentError(absl::StrCat(
          "bundle ", i, " is empty: a bundle needs a resource above zero"));
    }
  }
  return absl::OkStatus();
}

absl::Status GcsPlacementGroupManager::CreatePlacementGroup(
    rpc::PlacementGroupTableData group) {
  RETURN_IF_ERROR(Validate(group));
  PlacementGroupID id = IdOf(group);
  if (groups_.contains(id)) {
    return absl::AlreadyExistsError(
        absl::StrCat("placement group ", id.Hex(), " already exists"));
  }
  if (!group.name().empty() &&
      names_.count({group.ray_namespace(), group.name()}) > 0) {
    return absl::AlreadyExistsError(absl::StrCat(
        "a placement group named '", group.name(),
        "' already exists in namespace '", group.ray_namespace(), "'"));
  }
  for (int i = 0; i < group.bundles_size(); ++i) {
    rpc::Bundle* bundle = group.mutable_bundles(i);
    bundle->set_placement_group_id(group.placement_group_id());
    bundle->set_index(i);
    bundle->clear_node_id();
  }
  group.set_state(State::PENDING);
  group.set_create_time_ms(absl::ToUnixMillis(absl::Now()));
  RETURN_IF_ERROR(Save(group));
  Publish(group);
  COMET_LOG(INFO) << "placement group " << id << " created with "
                  << group.bundles_size() << " bundles";
  Insert(std::move(group));
  TrySchedule();
  return absl::OkStatus();
}

void GcsPlacementGroupManager::Insert(rpc::PlacementGroupTableData data) {
  PlacementGroupID id = IdOf(data);
  if (data.state() == State::REMOVED) {
    removed_order_.push_back(id);
  } else if (!data.name().empty()) {
    names_[{data.ray_namespace(), data.name()}] = id;
  }
  if (IsPending(data)) pending_.push_back(id);
  order_.push_back(id);
  groups_[id].data = std::move(data);
}

bool GcsPlacementGroupManager::RemovePlacementGroup(
    const PlacementGroupID& id) {
  auto it = groups_.find(id);
  if (it == groups_.end()) return false;
  Group& group = it->second;
  if (group.data.state() == State::REMOVED) return true;
  if (attempt_ && attempt_->group_id == id) {
    attempt_->abandoned = true;
    for (auto& [node_id, reservation] : attempt_->nodes) {
      if (!reservation.may_hold) continue;
      Release(node_id, reservation.bundles);
      reservation.may_hold = false;
    }
  }
  ReleaseBundles(group.data);
  for (rpc::Bundle& bundle : *group.data.mutable_bundles()) {
    bundle.clear_node_id();
  }
  pending_.erase(std::remove(pending_.begin(), pending_.end(), id),
                 pending_.end());
  if (!group.data.name().empty()) {
    names_.erase({group.data.ray_namespace(), group.data.name()});
  }
  COMET_LOG(INFO) << "placement group " << id << " removed";
  SetState(group, State::REMOVED);
  removed_order_.push_back(id);
  ForgetOldRemoved();
  OnResourcesChanged();
  return true;
}

const rpc::PlacementGroupTableData* GcsPlacementGroupManager::Get(
    const PlacementGroupID& id) const {
  auto it = groups_.find(id);
  return it == groups_.end() ? nullptr : &it->second.data;
}

const rpc::PlacementGroupTableData* GcsPlacementGroupManager::GetNamed(
    const std::string& name, const std::string& ray_namespace) const {
  auto it = names_.find({ray_namespace, name});
  return it == names_.end() ? nullptr : Get(it->second);
}

std::vector<rpc::PlacementGroupTableData> GcsPlacementGroupManager::GetAll()
    const {
  std::vector<rpc::PlacementGroupTableData> all;
  all.reserve(order_.size());
  for (const PlacementGroupID& id : order_) all.push_back(groups_.at(id).data);
  return all;
}

absl::Status GcsPlacementGroupManager::WaitUntilReady(
    const PlacementGroupID& id, int64_t timeout_ms, WaitCallback callback) {
  auto it = groups_.find(id);
  if (it == groups_.end()) {
    return absl::NotFoundError(
        absl::StrCat("placement group ", id.Hex(), " does not exist"));
  }
  State::State state = it->second.data.state();
  if (state == State::CREATED || state == State::REMOVED || shut_down_) {
    rpc::WaitPlacementGroupUntilReadyReply reply;
    reply.set_ready(state == State::CREATED);
    reply.set_removed(state == State::REMOVED);
    callback(std::move(reply));
    return absl::OkStatus();
  }
  WaiterId waiter_id = next_waiter_id_++;
  Waiter& waiter = waiters_[waiter_id];
  waiter.group_id = id;
  waiter.callback = std::move(callback);
  waiter.timer = std::make_unique<boost::asio::steady_timer>(io_);
  waiter.timer->expires_after(std::chrono::milliseconds(
      std::clamp<int64_t>(timeout_ms, 0, kMaxWaitMs)));
  waiter.timer->async_wait(
      [this, waiter_id](const boost::system::error_code& error) {
        if (!error) AnswerWaiter(waiter_id, false, false);
      });
  it->second.waiters.push_back(waiter_id);
  return absl::OkStatus();
}

void GcsPlacementGroupManager::OnResourcesChanged() {
  for (const PlacementGroupID& id : pending_) {
    groups_.at(id).wait_for_change = false;
  }
  TrySchedule();
}

void GcsPlacementGroupManager::OnNodeRemoved(const NodeID& node_id) {
  const std::string node = node_id.Binary();
  for (const PlacementGroupID& id : order_) {
    Group& group = groups_.at(id);
    if (group.data.state() == State::REMOVED) continue;
    bool lost = false;
    for (rpc::Bundle& bundle : *group.data.mutable_bundles()) {
      if (bundle.node_id() != node) continue;
      bundle.clear_node_id();
      lost = true;
    }
    if (!lost) continue;
    COMET_LOG(WARNING) << "placement group " << id
                       << " lost bundles on dead node " << node_id
                       << "; placing them again";
    if (!IsPending(group.data)) pending_.push_back(id);
    SetState(group, State::RESCHEDULING);
  }
  OnResourcesChanged();
}

void GcsPlacementGroupManager::OnJobFinished(const JobID& job_id) {
  const std::string job = job_id.Binary();
  std::vector<PlacementGroupID> doomed;
  for (const PlacementGroupID& id : order_) {
    const rpc::PlacementGroupTableData& data = groups_.at(id).data;
    if (data.state() != State::REMOVED && !data.is_detached() &&
        data.creator_job_id() == job) {
      doomed.push_back(id);
    }
  }
  for (const PlacementGroupID& id : doomed) RemovePlacementGroup(id);
}

void GcsPlacementGroupManager::Shutdown() {
  shut_down_ = true;
  std::vector<WaiterId> ids;
  for (const auto& [id, waiter] : waiters_) ids.push_back(id);
  for (WaiterId id : ids) AnswerWaiter(id, false, false);
}

// --- Scheduling ---

void GcsPlacementGroupManager::TrySchedule() {
  if (shut_down_ || attempt_ || pending_.empty()) return;
  std::vector<NodeAvailability> view = ResourceView();
  for (const PlacementGroupID& id : pending_) {
    Group& group = groups_.at(id);
    if (group.wait_for_change) continue;
    BundlePlacementRequest request;
    request.strategy = group.data.strategy();
    for (const rpc::Bundle& bundle : group.data.bundles()) {
      request.bundles.emplace_back(bundle.resources().begin(),
                                   bundle.resources().end());
      request.placed.push_back(
          NodeID::FromBinary(bundle.node_id()).value_or(NodeID::Nil()));
    }
    request.soft_target = NodeID::FromBinary(group.data.soft_target_node_id())
                              .value_or(NodeID::Nil());
    std::optional<std::vector<NodeID>> nodes = PlaceBundles(request, view);
    if (!nodes) continue;
    StartAttempt(group, *nodes);
    return;
  }
}

std::vector<NodeAvailability> GcsPlacementGroupManager::ResourceView() const {
  std::vector<NodeAvailability> view;
  for (const rpc::NodeResources& usage : resources_->GetAllResourceUsage()) {
    NodeAvailability node;
    node.node_id = NodeID::FromBinary(usage.node_id()).value_or(NodeID::Nil());
    node.available.insert(usage.available().quantities().begin(),
                          usage.available().quantities().end());
    const auto& total = usage.total().quantities();
    for (const auto& [id, group] : groups_) {
      if (group.data.state() == State::REMOVED) continue;
      for (const rpc::Bundle& bundle : group.data.bundles()) {
        if (bundle.node_id() != usage.node_id()) continue;
        std::string marker =
            BundleResourceName(kBundleResource, id, bundle.index());
        if (total.count(marker) > 0) continue;  // The report counts it.
        for (const auto& [name, quantity] : bundle.resources()) {
          node.available[name] -= quantity;
        }
      }
    }
    view.push_back(std::move(node));
  }
  return view;
}

void GcsPlacementGroupManager::StartAttempt(Group& group,
                                            const std::vector<NodeID>& nodes) {
  Attempt& attempt = attempt_.emplace();
  attempt.serial = next_attempt_serial_++;
  attempt.group_id = IdOf(group.data);
  for (int i = 0; i < group.data.bundles_size(); ++i) {
    rpc::Bundle bundle = group.data.bundles(i);
    if (!bundle.node_id().empty()) continue;  // Placed before.
    bundle.set_node_id(nodes[i].Binary());
    attempt.nodes[nodes[i]].bundles.push_back(std::move(bundle));
  }
  attempt.outstanding = attempt.nodes.size();
  for (const auto& [node_id, reservation] : attempt.nodes) {
    reserver_->Prepare(node_id, reservation.bundles,
                       [this, serial = attempt.serial,
                        node_id = node_id](const absl::Status& status) {
                         OnReserveReply(serial, node_id, false, status);
                       });
  }
}

void GcsPlacementGroupManager::OnReserveReply(uint64_t serial,
                                              const NodeID& node_id,
                                              bool commit,
                                              const absl::Status& status) {
  if (!attempt_ || attempt_->serial != serial) return;
  Attempt& attempt = *attempt_;
  NodeReservation& reservation = attempt.nodes.at(node_id);
  --attempt.outstanding;
  if (!commit) reservation.may_hold = !absl::IsResourceExhausted(status);
  if (!status.ok()) {
    attempt.failed = true;
    COMET_LOG(INFO) << (commit ? "committing" : "preparing")
                    << " bundles of placement group " << attempt.group_id
                    << " on node " << node_id << " failed: " << status;
  }
  if (attempt.abandoned && reservation.may_hold) {
    Release(node_id, reservation.bundles);
    reservation.may_hold = false;
  }
  if (attempt.outstanding > 0) return;
  if (attempt.abandoned) return FinishAttempt();
  Group& group = groups_.at(attempt.group_id);
  if (attempt.failed) {
    for (auto& [node, held] : attempt.nodes) {
      if (held.may_hold) Release(node, held.bundles);
    }
    group.wait_for_change = true;
    return FinishAttempt();
  }
  if (!attempt.committing) return StartCommit();
  for (const auto& [node, held] : attempt.nodes) {
    for (const rpc::Bundle& bundle : held.bundles) {
      group.data.mutable_bundles(bundle.index())->set_node_id(node.Binary());
    }
  }
  pending_.erase(
      std::remove(pending_.begin(), pending_.end(), attempt.group_id),
      pending_.end());
  COMET_LOG(INFO) << "placement group " << attempt.group_id << " created on "
                  << attempt.nodes.size() << " node(s)";
  SetState(group, State::CREATED);
  FinishAttempt();
}

void GcsPlacementGroupManager::StartCommit() {
  Attempt& attempt = *attempt_;
  attempt.committing = true;
  attempt.outstanding = attempt.nodes.size();
  for (const auto& [node_id, reservation] : attempt.nodes) {
    reserver_->Commit(node_id, reservation.bundles,
                      [this, serial = attempt.serial,
                       node_id = node_id](const absl::Status& status) {
                        OnReserveReply(serial, node_id, true, status);
                      });
  }
}

void GcsPlacementGroupManager::FinishAttempt() {
  attempt_.reset();
  TrySchedule();
}

void GcsPlacementGroupManager::Release(const NodeID& node_id,
                                       std::vector<rpc::Bundle> bundles) {
  reserver_->Cancel(node_id, std::move(bundles),
                    [node_id](const absl::Status& status) {
                      if (!status.ok()) {
                        COMET_LOG(INFO) << "releasing bundles on node "
                                        << node_id << ": " << status;
                      }
                    });
}

void GcsPlacementGroupManager::ReleaseBundles(
    const rpc::PlacementGroupTableData& data) {
  std::map<NodeID, std::vector<rpc::Bundle>> by_node;
  for (const rpc::Bundle& bundle : data.bundles()) {
    absl::StatusOr<NodeID> node = NodeID::FromBinary(bundle.node_id());
    if (node.ok()) by_node[*node].push_back(bundle);
  }
  for (auto& [node, bundles] : by_node) Release(node, std::move(bundles));
}

// --- Table and waiters ---

void GcsPlacementGroupManager::SetState(Group& group, State::State state) {
  group.data.set_state(state);
  SaveAndPublish(group.data);
  if (state == State::CREATED || state == State::REMOVED) NotifyWaiters(group);
}

void GcsPlacementGroupManager::SaveAndPublish(
    const rpc::PlacementGroupTableData& data) {
  absl::Status stored = Save(data);
  if (!stored.ok()) {
    COMET_LOG(ERROR) << "cannot store placement group " << IdOf(data) << ": "
                     << stored;
  }
  Publish(data);
}

absl::Status GcsPlacementGroupManager::Save(
    const rpc::PlacementGroupTableData& data) {
  return store_
      ->Put(kTable, data.placement_group_id(), data.SerializeAsString(),
            /*overwrite=*/true)
      .status();
}

void GcsPlacementGroupManager::Publish(
    const rpc::PlacementGroupTableData& data) {
  rpc::PubMessage message;
  message.set_channel(rpc::PLACEMENT_GROUP_CHANNEL);
  message.set_key(data.placement_group_id());
  *message.mutable_placement_group_data() = data;
  publisher_->Publish(std::move(message));
}

void GcsPlacementGroupManager::NotifyWaiters(Group& group) {
  bool ready = group.data.state() == State::CREATED;
  bool removed = group.data.state() == State::REMOVED;
  std::vector<WaiterId> ids = std::move(group.waiters);
  group.waiters.clear();
  for (WaiterId id : ids) AnswerWaiter(id, ready, removed);
}

void GcsPlacementGroupManager::AnswerWaiter(WaiterId id, bool ready,
                                            bool removed) {
  auto it = waiters_.find(id);
  if (it == waiters_.end()) return;
  Waiter waiter = std::move(it->second);
  waiters_.erase(it);
  waiter.timer->cancel();
  auto group = groups_.find(waiter.group_id);
  if (group != groups_.end()) {
    std::vector<WaiterId>& ids = group->second.waiters;
    ids.erase(std::remove(ids.begin(), ids.end(), id), ids.end());
  }
  rpc::WaitPlacementGroupUntilReadyReply reply;
  reply.set_ready(ready);
  reply.set_removed(removed);
  waiter.callback(std::move(reply));
}

void GcsPlacementGroupManager::ForgetOldRemoved() {
  while (removed_order_.size() > kMaxRemovedGroups) {
    PlacementGroupID id = removed_order_.front();
    removed_order_.pop_front();
    groups_.erase(id);
    order_.erase(std::remove(order_.begin(), order_.end(), id), order_.end());
    absl::Status deleted = store_->Delete(kTable, id.Binary()).status();
    if (!deleted.ok()) {
      COMET_LOG(WARNING) << "cannot delete placement group " << id << ": "
                         << deleted;
    }
  }
}

}  // namespace comet::gcs
