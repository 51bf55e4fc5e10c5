#include "src/comet/raylet/worker_log_parser.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace comet::raylet {
namespace {

std::vector<std::string> Lines(const std::vector<NamedLines>& runs) {
  std::vector<std::string> out;
  for (const NamedLines& run : runs) {
    for (const std::string& line : run.lines) out.push_back(run.name + "|" + line);
  }
  return out;
}

TEST(WorkerLogParserTest, WholeLinesOnlyUntilFlush) {
  WorkerLogParser parser;
  EXPECT_EQ(Lines(parser.Feed("one\ntw")), std::vector<std::string>{"|one"});
  EXPECT_EQ(parser.pending_bytes(), 2u);
  EXPECT_EQ(Lines(parser.Feed("o\nthr")), std::vector<std::string>{"|two"});
  EXPECT_EQ(Lines(parser.Flush()), std::vector<std::string>{"|thr"});
  EXPECT_TRUE(parser.Flush().empty());
}

TEST(WorkerLogParserTest, TaskMarkersNameTheLinesAfterThem) {
  WorkerLogParser parser;
  std::vector<NamedLines> runs =
      parser.Feed("boot\n:task_name:f\na\nb\n:task_name:g\nc\n");
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[0].name, "");
  EXPECT_EQ(runs[1].name, "f");
  EXPECT_EQ(runs[1].lines, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(runs[2].name, "g");
  EXPECT_FALSE(runs[2].is_actor);
  // The name carries over to later reads.
  EXPECT_EQ(Lines(parser.Feed("d\n")), std::vector<std::string>{"g|d"});
}

TEST(WorkerLogParserTest, ActorNameWinsOverLaterTaskMarkers) {
  WorkerLogParser parser;
  std::vector<NamedLines> runs =
      parser.Feed(":task_name:A.__init__\nx\n:actor_name:A\n:task_name:A.m\ny\n");
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].name, "A.__init__");
  EXPECT_EQ(runs[1].name, "A");
  EXPECT_TRUE(runs[1].is_actor);
  EXPECT_EQ(runs[1].lines, std::vector<std::string>{"y"});
}

TEST(WorkerLogParserTest, CarriageReturnBeforeNewlineIsDropped) {
  WorkerLogParser parser;
  EXPECT_EQ(Lines(parser.Feed("dos\r\nkeep\rthis\n")),
            (std::vector<std::string>{"|dos", "|keep\rthis"}));
}

TEST(WorkerLogParserTest, OverlongLinesAreCutAtTheLimit) {
  WorkerLogParser parser(4);
  EXPECT_EQ(Lines(parser.Feed("abcdefghij\n")),
            (std::vector<std::string>{"|abcd", "|efgh", "|ij"}));
  // Exactly the limit, then its newline: one line, no empty piece.
  EXPECT_EQ(Lines(parser.Feed("wxyz\n")), std::vector<std::string>{"|wxyz"});
  // Pieces across reads.
  EXPECT_EQ(Lines(parser.Feed("ab")), std::vector<std::string>{});
  EXPECT_EQ(Lines(parser.Feed("cdef")), std::vector<std::string>{"|abcd"});
  EXPECT_EQ(Lines(parser.Flush()), std::vector<std::string>{"|ef"});
}

TEST(WorkerLogParserTest, EmptyLinesAreLines) {
  WorkerLogParser parser;
  EXPECT_EQ(Lines(parser.Feed("\n\nx\n")), (std::vector<std::string>{"|", "|", "|x"}));
}

}  // namespace
}  // namespace comet::raylet
