#include "src/comet/common/config.h"

#include <stdlib.h>

#include "gtest/gtest.h"

namespace comet {
namespace {

TEST(ConfigTest, Defaults) {
  Config config;
  EXPECT_EQ(config.object_store_memory(), 0);
  EXPECT_EQ(config.object_store_memory_cap(), 200LL * 1024 * 1024 * 1024);
  EXPECT_EQ(config.plasma_create_fallback_timeout_ms(), 2000);
  EXPECT_TRUE(config.plasma_fallback_allocation());
  EXPECT_EQ(config.plasma_max_message_bytes(), 64LL * 1024 * 1024);
  EXPECT_EQ(config.plasma_spill_dir(), "");
  EXPECT_EQ(config.max_direct_call_object_size(), 100 * 1024);
  EXPECT_EQ(config.log_level(), "info");
  EXPECT_EQ(config.health_check_period_ms(), 1000);
  EXPECT_EQ(config.health_check_failure_threshold(), 5);
  EXPECT_EQ(config.worker_idle_timeout_ms(), 60000);
}

TEST(ConfigTest, SetParsesEachType) {
  Config config;
  ASSERT_TRUE(config.Set("object_store_memory", "12345").ok());
  EXPECT_EQ(config.object_store_memory(), 12345);
  ASSERT_TRUE(config.Set("plasma_fallback_allocation", "FALSE").ok());
  EXPECT_FALSE(config.plasma_fallback_allocation());
  ASSERT_TRUE(config.Set("plasma_fallback_allocation", "1").ok());
  EXPECT_TRUE(config.plasma_fallback_allocation());
  ASSERT_TRUE(config.Set("plasma_spill_dir", "/data/spill").ok());
  EXPECT_EQ(config.plasma_spill_dir(), "/data/spill");
}

TEST(ConfigTest, SetErrors) {
  Config config;
  absl::Status unknown = config.Set("no_such_entry", "1");
  EXPECT_EQ(unknown.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.message().find("no_such_entry"), std::string::npos);

  absl::Status bad_int = config.Set("health_check_period_ms", "abc");
  EXPECT_EQ(bad_int.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad_int.message().find("health_check_period_ms"),
            std::string::npos);
  EXPECT_NE(bad_int.message().find("abc"), std::string::npos);
  EXPECT_EQ(config.health_check_period_ms(), 1000);

  EXPECT_FALSE(config.Set("plasma_fallback_allocation", "yes please").ok());
  EXPECT_FALSE(config.Set("object_store_memory", "12x").ok());
  EXPECT_FALSE(config.Set("object_store_memory", "").ok());
}

TEST(ConfigTest, ApplyOverridesIsAllOrNothing) {
  Config config;
  ASSERT_TRUE(config
                  .ApplyOverrides({{"worker_idle_timeout_ms", "10"},
                                   {"log_level", "debug"}})
                  .ok());
  EXPECT_EQ(config.worker_idle_timeout_ms(), 10);
  EXPECT_EQ(config.log_level(), "debug");

  absl::Status status = config.ApplyOverrides(
      {{"worker_idle_timeout_ms", "20"}, {"bogus_name", "1"}});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("bogus_name"), std::string::npos);
  EXPECT_EQ(config.worker_idle_timeout_ms(), 10);
}

TEST(ConfigTest, FromEnvironment) {
  ASSERT_EQ(setenv("COMET_object_store_memory", "777", 1), 0);
  ASSERT_EQ(setenv("COMET_HEALTH_CHECK_FAILURE_THRESHOLD", "9", 1), 0);
  ASSERT_EQ(setenv("COMET_plasma_fallback_allocation", "false", 1), 0);
  auto config = Config::FromEnvironment();
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->object_store_memory(), 777);
  EXPECT_EQ(config->health_check_failure_threshold(), 9);
  EXPECT_FALSE(config->plasma_fallback_allocation());
  EXPECT_EQ(config->worker_idle_timeout_ms(), 60000);

  // The exact spelling wins over the upper-case one.
  ASSERT_EQ(setenv("COMET_OBJECT_STORE_MEMORY", "1", 1), 0);
  EXPECT_EQ(Config::FromEnvironment()->object_store_memory(), 777);

  ASSERT_EQ(setenv("COMET_worker_idle_timeout_ms", "soon", 1), 0);
  auto bad = Config::FromEnvironment();
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("COMET_worker_idle_timeout_ms"),
            std::string::npos);
  EXPECT_NE(bad.status().message().find("soon"), std::string::npos);

  for (const char* var :
       {"COMET_object_store_memory", "COMET_OBJECT_STORE_MEMORY",
        "COMET_HEALTH_CHECK_FAILURE_THRESHOLD",
        "COMET_plasma_fallback_allocation", "COMET_worker_idle_timeout_ms"}) {
    unsetenv(var);
  }
}

TEST(ConfigTest, ToMapRoundTripsThroughOverrides) {
  Config original;
  original.set_object_store_memory(1 << 30)
      .set_plasma_fallback_allocation(false)
      .set_plasma_spill_dir("/x");
  std::map<std::string, std::string> values = original.ToMap();
  EXPECT_EQ(values.at("object_store_memory"), "1073741824");
  EXPECT_EQ(values.at("plasma_fallback_allocation"), "false");
  EXPECT_EQ(values.at("log_level"), "info");

  Config copy;
  ASSERT_TRUE(copy.ApplyOverrides(values).ok());
  EXPECT_EQ(copy.ToMap(), values);
}

TEST(ConfigTest, EntriesDescribeTheTable) {
  std::vector<ConfigEntryInfo> entries = Config::Entries();
  EXPECT_EQ(entries.size(), Config().ToMap().size());
  for (const ConfigEntryInfo& entry : entries) {
    EXPECT_FALSE(entry.doc.empty()) << entry.name;
  }
  EXPECT_EQ(entries.front().name, "object_store_memory");
  EXPECT_EQ(entries.front().type, "int64_t");
  EXPECT_EQ(entries.front().default_value, "0");
}

TEST(ConfigTest, ResolveObjectStoreMemory) {
  Config config;
  config.set_object_store_memory(5000);
  EXPECT_EQ(ResolveObjectStoreMemory(config), 5000);

  config.set_object_store_memory(0);
  int64_t automatic = ResolveObjectStoreMemory(config);
  EXPECT_GT(automatic, 0);
  EXPECT_LE(automatic, config.object_store_memory_cap());

  config.set_object_store_memory_cap(1000);
  EXPECT_EQ(ResolveObjectStoreMemory(config), 1000);
}

}  // namespace
}  // namespace comet
