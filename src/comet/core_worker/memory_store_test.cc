#include "src/comet/core_worker/memory_store.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace comet::core {
namespace {

TEST(MemoryStoreTest, PutGetDelete) {
  MemoryStore store;
  ObjectID id = ObjectID::FromRandom();
  EXPECT_EQ(store.Get(id), nullptr);
  store.Put(id, RayObject::Inline("data", "meta"));
  ASSERT_NE(store.Get(id), nullptr);
  EXPECT_EQ(store.Get(id)->data, "data");
  store.Put(id, RayObject::Inline("second", ""));  // The first value stays.
  EXPECT_EQ(store.Get(id)->data, "data");
  store.Delete(id);
  EXPECT_FALSE(store.Contains(id));
}

TEST(MemoryStoreTest, AsyncCallbacksRunOnPut) {
  MemoryStore store;
  ObjectID id = ObjectID::FromRandom();
  int calls = 0;
  store.GetAsync(id, [&](ObjectPtr obj) { calls += obj->data == "x" ? 1 : 100; });
  EXPECT_EQ(calls, 0);
  store.Put(id, RayObject::Inline("x", ""));
  EXPECT_EQ(calls, 1);
  store.GetAsync(id, [&](ObjectPtr) { calls++; });  // Already there: runs now.
  EXPECT_EQ(calls, 2);
}

TEST(MemoryStoreTest, WaitBlocksUntilEnoughAreReady) {
  MemoryStore store;
  ObjectID a = ObjectID::FromRandom(), b = ObjectID::FromRandom();
  std::thread writer([&] { store.Put(b, RayObject::InPlasma(10)); });
  auto found = store.Wait({a, b}, 1, absl::InfiniteFuture());
  writer.join();
  EXPECT_EQ(found[0], nullptr);
  ASSERT_NE(found[1], nullptr);
  EXPECT_TRUE(found[1]->in_plasma);
  auto timed_out = store.Wait({a, b}, 2, absl::Now() + absl::Milliseconds(20));
  EXPECT_EQ(timed_out[0], nullptr);
}

TEST(MemoryStoreTest, WaitForAllSeesValuesArrivingInAnyOrder) {
  MemoryStore store;
  std::vector<ObjectID> ids;
  for (int i = 0; i < 50; ++i) ids.push_back(ObjectID::FromRandom());
  std::thread writer([&] {
    // Back to front, with other lock traffic in between (each release
    // re-evaluates the waiter's condition).
    for (int i = 49; i >= 0; --i) {
      store.Put(ids[i], RayObject::Inline(std::to_string(i), ""));
      EXPECT_FALSE(store.Contains(ObjectID::FromRandom()));
    }
  });
  auto all = store.Wait(ids, ids.size(), absl::InfiniteFuture());
  writer.join();
  for (int i = 0; i < 50; ++i) {
    ASSERT_NE(all[i], nullptr) << i;
    EXPECT_EQ(all[i]->data, std::to_string(i));
  }
  // Some of them: counted wherever they are in the list.
  ObjectID missing = ObjectID::FromRandom();
  auto some = store.Wait({missing, ids[7], ids[3]}, 2, absl::InfiniteFuture());
  EXPECT_EQ(some[0], nullptr);
  EXPECT_NE(some[1], nullptr);
  EXPECT_NE(some[2], nullptr);
  EXPECT_TRUE(store.Wait({}, 0, absl::Now()).empty());
}

}  // namespace
}  // namespace comet::core
