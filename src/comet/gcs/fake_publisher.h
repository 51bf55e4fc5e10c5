// FakePublisher: a GcsPublisher for tests that records what was published.
// Thread model: single-threaded, like the managers under test.
#pragma once

#include <utility>
#include <vector>

#include "src/comet/gcs/gcs_publisher_interface.h"

namespace comet::gcs {

class FakePublisher : public GcsPublisher {
 public:
  int64_t Publish(rpc::PubMessage message) override {
    message.set_sequence(static_cast<int64_t>(messages.size()) + 1);
    messages.push_back(std::move(message));
    return messages.back().sequence();
  }

  std::vector<rpc::PubMessage> messages;
};

}  // namespace comet::gcs
