#include "base/file.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "base/testing/testing.h"

namespace stackhouse {
namespace {

size_t FilesIn(const std::string& dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}

TEST(FileTest, WriteThenRead) {
  std::string dir = testing::MakeTempDir();
  ASSERT_TRUE(WriteFile(dir + "/a", "hello").ok());
  auto back = ReadFile(dir + "/a");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, "hello");
  EXPECT_EQ(ReadFile(dir + "/a", 3).status().code(), StatusCode::kResourceExhausted);
}

TEST(FileTest, WriterAppendsPiecesAndReplacesOnCommit) {
  std::string dir = testing::MakeTempDir();
  ASSERT_TRUE(WriteFile(dir + "/out", "old").ok());
  auto w = FileWriter::Open(dir + "/out");
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  ASSERT_TRUE(w->Append("new ").ok());
  ASSERT_TRUE(w->Append("content").ok());
  EXPECT_EQ(*ReadFile(dir + "/out"), "old");  // not replaced before the commit
  ASSERT_TRUE(w->Commit().ok());
  EXPECT_EQ(*ReadFile(dir + "/out"), "new content");
  EXPECT_EQ(FilesIn(dir), 1u);  // no temporary file left
  EXPECT_FALSE(w->Append("more").ok());
}

TEST(FileTest, UncommittedWriterLeavesNothing) {
  std::string dir = testing::MakeTempDir();
  {
    auto w = FileWriter::Open(dir + "/out");
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(w->Append("partial").ok());
  }
  EXPECT_EQ(FilesIn(dir), 0u);
}

TEST(FileTest, ErrorsNameThePath) {
  auto w = FileWriter::Open("/nonexistent-dir/x");
  ASSERT_FALSE(w.ok());
  EXPECT_NE(w.status().message().find("/nonexistent-dir/x"), std::string::npos);
  auto r = ReadFile("/nonexistent-dir/y");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("/nonexistent-dir/y"), std::string::npos);
}

}  // namespace
}  // namespace stackhouse
