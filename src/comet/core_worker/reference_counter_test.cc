#include "src/comet/core_worker/reference_counter.h"

#include <gtest/gtest.h>

#include <vector>

namespace comet::core {
namespace {

struct Freed {
  std::vector<std::pair<ObjectID, bool>> ids;
};

TEST(ReferenceCounterTest, OwnedObjectFreedWhenLastReferenceGoes) {
  Freed freed;
  ReferenceCounter refs([&](const ObjectID& id, bool owned) { freed.ids.emplace_back(id, owned); });
  ObjectID id = ObjectID::FromRandom();
  refs.AddOwnedObject(id);
  refs.AddLocalReference(id);
  refs.AddLocalReference(id);
  refs.AddSubmittedTaskReferences({id});
  refs.RemoveLocalReference(id);
  refs.RemoveLocalReference(id);
  EXPECT_TRUE(freed.ids.empty());  // A pending task still uses it.
  refs.RemoveSubmittedTaskReferences({id});
  ASSERT_EQ(freed.ids.size(), 1u);
  EXPECT_EQ(freed.ids[0].first, id);
  EXPECT_TRUE(freed.ids[0].second);
  EXPECT_FALSE(refs.InScope(id));
}

TEST(ReferenceCounterTest, EscapedObjectsAreKept) {
  Freed freed;
  ReferenceCounter refs([&](const ObjectID& id, bool owned) { freed.ids.emplace_back(id, owned); });
  ObjectID id = ObjectID::FromRandom();
  refs.AddOwnedObject(id);
  refs.AddLocalReference(id);
  refs.MarkEscaped(id);
  refs.RemoveLocalReference(id);
  EXPECT_TRUE(freed.ids.empty());
  EXPECT_TRUE(refs.InScope(id));
}

TEST(ReferenceCounterTest, BorrowedObjectsAreDroppedNotOwned) {
  Freed freed;
  ReferenceCounter refs([&](const ObjectID& id, bool owned) { freed.ids.emplace_back(id, owned); });
  ObjectID id = ObjectID::FromRandom();
  refs.AddBorrowedObject(id, rpc::Address());
  refs.AddLocalReference(id);
  refs.RemoveLocalReference(id);
  ASSERT_EQ(freed.ids.size(), 1u);
  EXPECT_FALSE(freed.ids[0].second);
  refs.RemoveLocalReference(id);  // Extra removals are ignored.
  EXPECT_EQ(freed.ids.size(), 1u);
}

}  // namespace
}  // namespace comet::core
