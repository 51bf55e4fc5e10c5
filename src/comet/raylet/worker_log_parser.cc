#include "src/comet/raylet/worker_log_parser.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/strip.h"

namespace comet::raylet {

WorkerLogParser::WorkerLogParser(size_t max_line_bytes)
    : max_line_bytes_(std::max<size_t>(max_line_bytes, 1)) {}

void WorkerLogParser::Take(std::string line, std::vector<NamedLines>* out) {
  absl::string_view view(line);
  if (absl::ConsumePrefix(&view, kActorMarker)) {
    name_ = std::string(view);
    is_actor_ = true;
    return;
  }
  if (absl::ConsumePrefix(&view, kTaskMarker)) {
    if (!is_actor_) name_ = std::string(view);
    return;
  }
  if (out->empty() || out->back().name != name_ ||
      out->back().is_actor != is_actor_) {
    out->push_back(NamedLines{name_, is_actor_, {}});
  }
  out->back().lines.push_back(std::move(line));
}

std::vector<NamedLines> WorkerLogParser::Feed(absl::string_view bytes) {
  std::vector<NamedLines> out;
  while (!bytes.empty()) {
    size_t newline = bytes.find('\n');
    size_t take = newline == absl::string_view::npos ? bytes.size() : newline;
    size_t room = max_line_bytes_ - partial_.size();
    if (take > room) {  // the line would pass the limit: cut it there
      partial_.append(bytes.data(), room);
      bytes.remove_prefix(room);
      Take(std::exchange(partial_, std::string()), &out);
      continue;
    }
    partial_.append(bytes.data(), take);
    if (newline == absl::string_view::npos) break;
    bytes.remove_prefix(take + 1);
    if (absl::EndsWith(partial_, "\r")) partial_.pop_back();
    Take(std::exchange(partial_, std::string()), &out);
  }
  return out;
}

std::vector<NamedLines> WorkerLogParser::Flush() {
  std::vector<NamedLines> out;
  if (!partial_.empty()) Take(std::exchange(partial_, std::string()), &out);
  return out;
}

}  // namespace comet::raylet
