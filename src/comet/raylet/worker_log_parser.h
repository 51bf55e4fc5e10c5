// WorkerLogParser: turns the bytes a worker wrote to one of its log files
// (stdout or stderr) into whole lines, each tagged with the task or actor
// name in force when it was written, for streaming to the job's driver.
//
// The worker announces names with marker lines of their own, which are
// consumed here (they stay in the file):
//   ":task_name:<name>"   the lines that follow were written by task <name>
//   ":actor_name:<name>"  this worker is actor <name> from now on (a task
//                         marker no longer changes the name)
// A line longer than max_line_bytes is cut there into pieces; a trailing
// "\r" is dropped with its "\n".
//
// Thread model: thread-compatible; pure (no I/O), tested by feeding bytes.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace comet::raylet {

// Consecutive lines written under one name.
struct NamedLines {
  std::string name;  // empty before the worker's first task
  bool is_actor = false;
  std::vector<std::string> lines;
};

class WorkerLogParser {
 public:
  static constexpr size_t kDefaultMaxLineBytes = 64 << 10;
  static constexpr absl::string_view kTaskMarker = ":task_name:";
  static constexpr absl::string_view kActorMarker = ":actor_name:";

  explicit WorkerLogParser(size_t max_line_bytes = kDefaultMaxLineBytes);

  // Appends what was read next from the file; returns the lines it
  // completed, in order, in runs of one name.
  std::vector<NamedLines> Feed(absl::string_view bytes);

  // The unterminated last line, if any (a worker that died mid-line).
  std::vector<NamedLines> Flush();

  size_t pending_bytes() const { return partial_.size(); }

 private:
  // Handles one whole line: a marker changes the name, anything else is
  // appended to `out`.
  void Take(std::string line, std::vector<NamedLines>* out);

  const size_t max_line_bytes_;
  std::string partial_;  // bytes after the last newline
  std::string name_;
  bool is_actor_ = false;
};

}  // namespace comet::raylet
