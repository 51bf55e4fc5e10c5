#include "src/comet/raylet/raylet_flags.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

namespace comet::raylet {
namespace {

std::vector<std::string> Required() {
  return {"--gcs-address=127.0.0.1:6379", "--plasma-socket=/tmp/p.sock"};
}

TEST(RayletFlagsTest, ParsesEveryFlag) {
  std::vector<std::string> args = Required();
  NodeID node_id = NodeID::FromRandom();
  for (const std::string& arg :
       {"--node-id=" + node_id.Hex(), std::string("--host=127.0.0.2"),
        std::string("--port=1234"),
        std::string("--object-store-memory=1000000"),
        std::string("--num-cpus=3"), std::string("--num-gpus=2"),
        std::string("--memory=5000"), std::string("--resources=foo:2,bar:0.5"),
        std::string("--session-dir=/tmp/s"), std::string("--log-dir=/tmp/l"),
        std::string("--python=/usr/bin/python3"), std::string("--node-name=n1"),
        std::string("--config=worker_idle_timeout_ms=5;log_level=debug"),
        std::string("--prestart-workers=1")}) {
    args.push_back(arg);
  }
  auto flags = ParseRayletFlags(args);
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->gcs_address, "127.0.0.1:6379");
  EXPECT_EQ(flags->port, 1234);
  EXPECT_EQ(flags->resources.at("foo"), 2);
  EXPECT_EQ(flags->config_overrides.at("log_level"), "debug");

  Config config;
  ASSERT_TRUE(config.ApplyOverrides(flags->config_overrides).ok());
  auto options = BuildRayletOptions(*flags, config);
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->node_id, node_id);
  EXPECT_EQ(options->host, "127.0.0.2");
  EXPECT_EQ(options->plasma.capacity, 1000000u);
  EXPECT_EQ(options->resources.Get("CPU"), 3);
  EXPECT_EQ(options->resources.Get("GPU"), 2);
  EXPECT_EQ(options->resources.Get("memory"), 5000);
  EXPECT_EQ(options->resources.Get("bar"), 0.5);
  EXPECT_EQ(options->prestart_workers, 1u);
  EXPECT_EQ(options->pool.idle_soft_limit, 3u);
  EXPECT_EQ(options->pool.idle_timeout, absl::Milliseconds(5));
  EXPECT_EQ(options->python, "/usr/bin/python3");
  EXPECT_EQ(options->log_dir, "/tmp/l");
  EXPECT_EQ(options->node_name, "n1");
  // Workers get the whole table, overrides included.
  EXPECT_EQ(options->worker_config.at("log_level"), "debug");
  EXPECT_EQ(options->worker_config.at("worker_idle_timeout_ms"), "5");
  EXPECT_EQ(options->worker_config.size(), Config::Entries().size());
}

TEST(RayletFlagsTest, RequiresGcsAndPlasma) {
  EXPECT_FALSE(ParseRayletFlags({"--plasma-socket=/tmp/x"}).ok());
  EXPECT_FALSE(ParseRayletFlags({"--gcs-address=h:1"}).ok());
  auto help = ParseRayletFlags({"--help"});
  ASSERT_TRUE(help.ok());
  EXPECT_TRUE(help->help);
}

TEST(RayletFlagsTest, RejectsBadInput) {
  for (const char* bad :
       {"--port=-1", "--port=70000", "--num-cpus=abc", "--num-gpus=0.5",
        "--num-cpus=-2", "--unknown=1", "positional", "--port",
        "--resources=CPU:4", "--resources=GPU:1", "--resources=memory:10",
        "--resources=foo", "--resources=foo:-1", "--resources=a:1,a:2",
        "--config=novalue", "--object-store-memory=0"}) {
    std::vector<std::string> args = Required();
    args.push_back(bad);
    EXPECT_FALSE(ParseRayletFlags(args).ok()) << bad;
  }
}

TEST(RayletFlagsTest, CpuInResourcesPointsToItsFlag) {
  auto status = ParseCustomResources("foo:1,CPU:4").status();
  EXPECT_NE(status.message().find("--num-cpus"), absl::string_view::npos)
      << status;
}

TEST(RayletFlagsTest, DefaultsComeFromTheMachine) {
  auto flags = ParseRayletFlags(Required());
  ASSERT_TRUE(flags.ok());
  auto options = BuildRayletOptions(*flags, Config());
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_GE(options->resources.Get("CPU"), 1);
  EXPECT_EQ(options->resources.Get("GPU"),
            static_cast<double>(DetectNumGpus()));
  EXPECT_GT(options->resources.Get("memory"), 0);
  EXPECT_GT(options->plasma.capacity, 0u);
  EXPECT_EQ(options->prestart_workers,
            static_cast<size_t>(options->resources.Get("CPU")));
  EXPECT_EQ(options->python, "python3");
  EXPECT_FALSE(options->node_id.IsNil());
}

TEST(RayletFlagsTest, LogDirDefaultsUnderTheSession) {
  std::vector<std::string> args = Required();
  args.push_back("--session-dir=/tmp/session_x");
  auto options = BuildRayletOptions(*ParseRayletFlags(args), Config());
  ASSERT_TRUE(options.ok());
  EXPECT_EQ(options->log_dir, "/tmp/session_x/logs");
}

TEST(RayletFlagsTest, CountsGpuEntries) {
  std::string dir = ::testing::TempDir() + "/gpus";
  mkdir(dir.c_str(), 0755);
  EXPECT_EQ(DetectNumGpus(dir), 0);
  for (const char* name : {"/0000:01:00.0", "/0000:02:00.0"}) {
    mkdir((dir + name).c_str(), 0755);
  }
  EXPECT_EQ(DetectNumGpus(dir), 2);
  EXPECT_EQ(DetectNumGpus(dir + "/missing"), 0);
}

TEST(RayletFlagsTest, GpuTypeFromTheFirstGpusModel) {
  std::string dir = ::testing::TempDir() + "/typed_gpus";
  EXPECT_EQ(DetectGpuType(dir), "");
  mkdir(dir.c_str(), 0755);
  for (const char* name : {"/0000:02:00.0", "/0000:01:00.0"}) {
    mkdir((dir + name).c_str(), 0755);
  }
  EXPECT_EQ(DetectGpuType(dir), "");  // no information files
  std::ofstream(dir + "/0000:01:00.0/information")
      << "Model: \t\tNVIDIA A100-SXM4-40GB\nIRQ:   34\n";
  std::ofstream(dir + "/0000:02:00.0/information") << "Model: Tesla V100-SXM2-16GB\n";
  EXPECT_EQ(DetectGpuType(dir), "A100");
  std::ofstream(dir + "/0000:01:00.0/information") << "Model:  Tesla V100-SXM2-16GB\n";
  EXPECT_EQ(DetectGpuType(dir), "V100");
  std::ofstream(dir + "/0000:01:00.0/information") << "Model: NVIDIA H200\n";
  EXPECT_EQ(DetectGpuType(dir), "H200");
}

TEST(RayletFlagsTest, BadNodeIdIsAnError) {
  std::vector<std::string> args = Required();
  args.push_back("--node-id=abc");
  auto flags = ParseRayletFlags(args);
  ASSERT_TRUE(flags.ok());
  EXPECT_FALSE(BuildRayletOptions(*flags, Config()).ok());
}

}  // namespace
}  // namespace comet::raylet
