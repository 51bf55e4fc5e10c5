#include "src/comet/gcs/in_memory_store_client.h"

#include "src/comet/gcs/store_client_test_suite.h"

namespace comet::gcs {
namespace {

INSTANTIATE_TEST_SUITE_P(InMemory, StoreClientSuite, ::testing::Values(StoreFactory([] {
                           return std::unique_ptr<StoreClient>(new InMemoryStoreClient());
                         })));

}  // namespace
}  // namespace comet::gcs
