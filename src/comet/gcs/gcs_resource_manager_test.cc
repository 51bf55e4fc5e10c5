#include "src/comet/gcs/gcs_resource_manager.h"

#include <gtest/gtest.h>

namespace comet::gcs {
namespace {

rpc::ResourceSet Resources(double cpu) {
  rpc::ResourceSet set;
  (*set.mutable_quantities())["CPU"] = cpu;
  return set;
}

rpc::NodeInfo Node(const NodeID& id, double cpu) {
  rpc::NodeInfo node;
  node.set_node_id(id.Binary());
  *node.mutable_total_resources() = Resources(cpu);
  return node;
}

double Cpu(const rpc::ResourceSet& set) { return set.quantities().at("CPU"); }

TEST(GcsResourceManagerTest, NewNodeIsFullyAvailable) {
  GcsResourceManager resources;
  NodeID id = NodeID::FromRandom();
  resources.OnNodeAdded(Node(id, 4));
  std::vector<rpc::NodeResources> all = resources.GetAllResourceUsage();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].node_id(), id.Binary());
  EXPECT_EQ(Cpu(all[0].total()), 4);
  EXPECT_EQ(Cpu(all[0].available()), 4);
}

TEST(GcsResourceManagerTest, ReportsReplaceWhatTheyCarry) {
  GcsResourceManager resources;
  NodeID id = NodeID::FromRandom();
  resources.OnNodeAdded(Node(id, 4));
  rpc::ReportResourceUsageRequest report;
  report.set_node_id(id.Binary());
  *report.mutable_available() = Resources(1);
  *report.add_pending_demands() = Resources(8);
  ASSERT_TRUE(resources.ReportResourceUsage(report).ok());
  rpc::NodeResources view = resources.GetAllResourceUsage()[0];
  EXPECT_EQ(Cpu(view.available()), 1);
  EXPECT_EQ(Cpu(view.total()), 4);  // Not in the report: kept.
  ASSERT_EQ(view.pending_demands_size(), 1);

  report.clear_pending_demands();
  *report.mutable_total() = Resources(6);
  ASSERT_TRUE(resources.ReportResourceUsage(report).ok());
  view = resources.GetAllResourceUsage()[0];
  EXPECT_EQ(Cpu(view.total()), 6);
  EXPECT_EQ(view.pending_demands_size(), 0);
}

TEST(GcsResourceManagerTest, UnknownOrDeadNodesAreRejectedAndDropped) {
  GcsResourceManager resources;
  NodeID id = NodeID::FromRandom();
  rpc::ReportResourceUsageRequest report;
  report.set_node_id(id.Binary());
  EXPECT_EQ(resources.ReportResourceUsage(report).code(),
            absl::StatusCode::kNotFound);
  report.set_node_id("bad");
  EXPECT_EQ(resources.ReportResourceUsage(report).code(),
            absl::StatusCode::kInvalidArgument);
  resources.OnNodeAdded(Node(id, 2));
  resources.OnNodeRemoved(id);
  EXPECT_TRUE(resources.GetAllResourceUsage().empty());
  report.set_node_id(id.Binary());
  EXPECT_EQ(resources.ReportResourceUsage(report).code(),
            absl::StatusCode::kNotFound);
}

TEST(GcsResourceManagerTest, ReRegistrationUpdatesTotalKeepsAvailability) {
  GcsResourceManager resources;
  NodeID id = NodeID::FromRandom();
  resources.OnNodeAdded(Node(id, 4));
  rpc::ReportResourceUsageRequest report;
  report.set_node_id(id.Binary());
  *report.mutable_available() = Resources(3);
  ASSERT_TRUE(resources.ReportResourceUsage(report).ok());
  resources.OnNodeAdded(Node(id, 8));
  rpc::NodeResources view = resources.GetAllResourceUsage()[0];
  EXPECT_EQ(Cpu(view.total()), 8);
  EXPECT_EQ(Cpu(view.available()), 3);
  EXPECT_EQ(resources.num_nodes(), 1u);
}

TEST(GcsResourceManagerTest, ListenersHearAcceptedReports) {
  GcsResourceManager resources;
  std::vector<NodeID> heard;
  resources.AddReportListener([&](const NodeID& id) { heard.push_back(id); });
  NodeID id = NodeID::FromRandom();
  rpc::ReportResourceUsageRequest report;
  report.set_node_id(id.Binary());
  EXPECT_FALSE(resources.ReportResourceUsage(report).ok());
  EXPECT_TRUE(heard.empty());
  resources.OnNodeAdded(Node(id, 4));
  ASSERT_TRUE(resources.ReportResourceUsage(report).ok());
  EXPECT_EQ(heard, std::vector<NodeID>{id});
}

}  // namespace
}  // namespace comet::gcs
