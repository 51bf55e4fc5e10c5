// ObjectStore lifecycle, eviction, fallback allocation and client cleanup,
// driven by direct calls (no sockets).
#include "src/comet/object_manager/plasma/object_store.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "src/comet/object_manager/plasma/protocol.h"

namespace comet::plasma {
namespace {

constexpr ClientId kA = 1;
constexpr ClientId kB = 2;

std::unique_ptr<ObjectStore> MakeStore(uint64_t capacity, std::string fallback_dir = "") {
  ObjectStoreOptions options;
  options.capacity = capacity;
  options.fallback_dir = std::move(fallback_dir);
  auto store = ObjectStore::Create(options);
  EXPECT_TRUE(store.ok()) << store.status();
  return *std::move(store);
}

fb::ErrorCode Code(const absl::Status& s) { return ErrorCodeOf(s); }

TEST(ObjectStoreTest, CreateSealAcquireRelease) {
  auto store = MakeStore(1 << 20);
  ObjectID id = ObjectID::FromRandom();
  auto loc = store->CreateObject(kA, id, 1000, 24);
  ASSERT_TRUE(loc.ok()) << loc.status();
  EXPECT_EQ(loc->data_offset % 64, 0u);
  EXPECT_EQ(loc->metadata_offset, loc->data_offset + 1000);
  EXPECT_FALSE(store->IsSealed(id));
  EXPECT_EQ(Code(store->Acquire(kB, id).status()), fb::ErrorCode::ObjectNotSealed);
  ASSERT_TRUE(store->Seal(kA, id).ok());
  EXPECT_TRUE(store->IsSealed(id));
  auto got = store->Acquire(kB, id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->data_offset, loc->data_offset);
  EXPECT_EQ(store->List()[0].ref_count, 2);
  ASSERT_TRUE(store->Release(kA, id).ok());
  ASSERT_TRUE(store->Release(kB, id).ok());
  EXPECT_EQ(store->List()[0].ref_count, 0);
  EXPECT_EQ(store->stats().num_sealed, 1);
}

TEST(ObjectStoreTest, BadRequestsGetClearErrors) {
  auto store = MakeStore(1 << 20);
  ObjectID id = ObjectID::FromRandom();
  EXPECT_EQ(Code(store->Seal(kA, id)), fb::ErrorCode::ObjectNotFound);
  EXPECT_EQ(Code(store->Release(kA, id).status()), fb::ErrorCode::ObjectNotFound);
  EXPECT_EQ(Code(store->Delete(id)), fb::ErrorCode::ObjectNotFound);
  ASSERT_TRUE(store->CreateObject(kA, id, 10, 0).ok());
  EXPECT_EQ(Code(store->CreateObject(kB, id, 10, 0).status()), fb::ErrorCode::ObjectExists);
  EXPECT_EQ(Code(store->Seal(kB, id)), fb::ErrorCode::InvalidRequest);
  EXPECT_EQ(Code(store->Delete(id)), fb::ErrorCode::ObjectNotSealed);
  ASSERT_TRUE(store->Seal(kA, id).ok());
  EXPECT_EQ(Code(store->Seal(kA, id)), fb::ErrorCode::ObjectAlreadySealed);
  EXPECT_EQ(Code(store->Abort(kA, id)), fb::ErrorCode::ObjectAlreadySealed);
  EXPECT_EQ(Code(store->Release(kB, id).status()), fb::ErrorCode::NotHeld);
  auto too_big = store->CreateObject(kA, ObjectID::FromRandom(), 2 << 20, 0);
  EXPECT_EQ(Code(too_big.status()), fb::ErrorCode::ObjectTooLarge);
  EXPECT_NE(too_big.status().message().find("exceeds the object store capacity"),
            std::string::npos);
}

TEST(ObjectStoreTest, AbortFreesMemory) {
  auto store = MakeStore(1 << 20);
  ObjectID id = ObjectID::FromRandom();
  ASSERT_TRUE(store->CreateObject(kA, id, 4096, 0).ok());
  EXPECT_EQ(store->stats().used_bytes, 4096);
  EXPECT_EQ(Code(store->Abort(kB, id)), fb::ErrorCode::InvalidRequest);
  ASSERT_TRUE(store->Abort(kA, id).ok());
  EXPECT_EQ(store->stats().used_bytes, 0);
  EXPECT_FALSE(store->Contains(id));
}

TEST(ObjectStoreTest, DeleteIsDeferredWhileReferenced) {
  auto store = MakeStore(1 << 20);
  ObjectID id = ObjectID::FromRandom();
  ASSERT_TRUE(store->CreateObject(kA, id, 100, 0).ok());
  ASSERT_TRUE(store->Seal(kA, id).ok());
  ASSERT_TRUE(store->Delete(id).ok());
  EXPECT_TRUE(store->Contains(id));
  ASSERT_TRUE(store->Release(kA, id).ok());
  EXPECT_FALSE(store->Contains(id));
  EXPECT_EQ(store->stats().used_bytes, 0);
}

TEST(ObjectStoreTest, EvictsLeastRecentlyUsedUnreferencedObjects) {
  auto store = MakeStore(4096);
  ObjectID ids[4];
  for (ObjectID& id : ids) {
    id = ObjectID::FromRandom();
    ASSERT_TRUE(store->CreateObject(kA, id, 1024, 0).ok());
    ASSERT_TRUE(store->Seal(kA, id).ok());
  }
  // Everything is referenced by its creator: nothing can be evicted.
  auto full = store->CreateObject(kB, ObjectID::FromRandom(), 1024, 0);
  EXPECT_EQ(Code(full.status()), fb::ErrorCode::OutOfMemory);
  // Release in the order 2, 0, 1; keep 3. Touch 2 again so that 0 is oldest.
  ASSERT_TRUE(store->Release(kA, ids[2]).ok());
  ASSERT_TRUE(store->Release(kA, ids[0]).ok());
  ASSERT_TRUE(store->Release(kA, ids[1]).ok());
  ASSERT_TRUE(store->Acquire(kB, ids[2]).ok());
  ASSERT_TRUE(store->Release(kB, ids[2]).ok());
  ASSERT_TRUE(store->CreateObject(kB, ObjectID::FromRandom(), 1024, 0).ok());
  EXPECT_FALSE(store->Contains(ids[0]));
  EXPECT_TRUE(store->Contains(ids[1]));
  EXPECT_TRUE(store->Contains(ids[2]));
  EXPECT_TRUE(store->Contains(ids[3]));
  ASSERT_TRUE(store->CreateObject(kB, ObjectID::FromRandom(), 2048, 0).ok());
  EXPECT_FALSE(store->Contains(ids[1]));
  EXPECT_FALSE(store->Contains(ids[2]));
  EXPECT_TRUE(store->Contains(ids[3]));
  StoreStats stats = store->stats();
  EXPECT_EQ(stats.num_evictions, 3);
  EXPECT_EQ(stats.bytes_evicted, 3 * 1024);
}

TEST(ObjectStoreTest, PrimaryCopiesAreNeverEvicted) {
  auto store = MakeStore(4096);
  ObjectID primary = ObjectID::FromRandom();
  ASSERT_TRUE(store->CreateObject(kA, primary, 2048, 0, /*primary=*/true).ok());
  ASSERT_TRUE(store->Seal(kA, primary).ok());
  ASSERT_TRUE(store->Release(kA, primary).ok());
  auto result = store->CreateObject(kB, ObjectID::FromRandom(), 4096, 0);
  EXPECT_EQ(Code(result.status()), fb::ErrorCode::OutOfMemory);
  EXPECT_TRUE(store->Contains(primary));
  ASSERT_TRUE(store->Delete(primary).ok());  // Its owner frees it.
  EXPECT_TRUE(store->CreateObject(kB, ObjectID::FromRandom(), 4096, 0).ok());
}

TEST(ObjectStoreTest, DoesNotEvictWhenEvictingCannotMakeRoom) {
  auto store = MakeStore(4096);
  ObjectID kept = ObjectID::FromRandom();
  ASSERT_TRUE(store->CreateObject(kA, kept, 3072, 0).ok());
  ObjectID cached = ObjectID::FromRandom();
  ASSERT_TRUE(store->CreateObject(kA, cached, 1024, 0).ok());
  ASSERT_TRUE(store->Seal(kA, cached).ok());
  ASSERT_TRUE(store->Release(kA, cached).ok());
  auto result = store->CreateObject(kB, ObjectID::FromRandom(), 2048, 0);
  EXPECT_EQ(Code(result.status()), fb::ErrorCode::OutOfMemory);
  EXPECT_TRUE(store->Contains(cached));
}

TEST(ObjectStoreTest, FallbackAllocationUsesAFileMapping) {
  auto store = MakeStore(4096, ::testing::TempDir());
  ASSERT_TRUE(store->CreateObject(kA, ObjectID::FromRandom(), 4096, 0).ok());
  ObjectID id = ObjectID::FromRandom();
  auto loc = store->CreateFallbackObject(kB, id, 3000, 16);
  ASSERT_TRUE(loc.ok()) << loc.status();
  EXPECT_TRUE(loc->fallback);
  EXPECT_NE(loc->fd_id, ObjectStore::kArenaFdId);
  const MemoryMapping* mapping = store->mapping(loc->fd_id);
  ASSERT_NE(mapping, nullptr);
  EXPECT_GE(mapping->size(), 3016u);
  mapping->data()[2999] = 42;  // Writable, backed by the file.
  EXPECT_EQ(store->stats().num_fallback_allocations, 1);
  EXPECT_GE(store->stats().fallback_bytes, 3016);
  ASSERT_TRUE(store->Seal(kB, id).ok());
  ASSERT_TRUE(store->Delete(id).ok());
  ASSERT_TRUE(store->Release(kB, id).ok());
  EXPECT_EQ(store->mapping(loc->fd_id), nullptr);
  EXPECT_EQ(store->stats().fallback_bytes, 0);
}

TEST(ObjectStoreTest, FallbackDisabledFailsClearly) {
  auto store = MakeStore(4096);
  auto result = store->CreateFallbackObject(kA, ObjectID::FromRandom(), 100, 0);
  EXPECT_EQ(Code(result.status()), fb::ErrorCode::OutOfMemory);
  EXPECT_NE(result.status().message().find("fallback allocation is disabled"), std::string::npos);
}

TEST(ObjectStoreTest, DisconnectReleasesAndAborts) {
  auto store = MakeStore(1 << 20);
  ObjectID sealed = ObjectID::FromRandom();
  ASSERT_TRUE(store->CreateObject(kB, sealed, 100, 0).ok());
  ASSERT_TRUE(store->Seal(kB, sealed).ok());
  ASSERT_TRUE(store->Acquire(kA, sealed).ok());
  ASSERT_TRUE(store->Acquire(kA, sealed).ok());
  ObjectID unsealed = ObjectID::FromRandom();
  ASSERT_TRUE(store->CreateObject(kA, unsealed, 100, 0).ok());
  store->DisconnectClient(kA);
  EXPECT_FALSE(store->Contains(unsealed));
  ASSERT_EQ(store->List().size(), 1u);
  EXPECT_EQ(store->List()[0].ref_count, 1);  // Only kB's creator reference.
  EXPECT_EQ(Code(store->Release(kA, sealed).status()), fb::ErrorCode::NotHeld);
  store->DisconnectClient(kB);
  EXPECT_EQ(store->List()[0].ref_count, 0);
  EXPECT_EQ(store->stats().used_bytes, 128);
}

}  // namespace
}  // namespace comet::plasma
