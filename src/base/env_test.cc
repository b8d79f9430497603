#include "base/env.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <thread>

#include "base/testing/testing.h"

namespace stackhouse {
namespace {

bool Contains(const std::string& s, std::string_view part) {
  return s.find(part) != std::string::npos;
}

Status WriteAll(Env* env, const std::string& path, std::string_view data, bool sync) {
  SH_ASSIGN_OR_RETURN(auto f, env->NewWritableFile(path));
  SH_RETURN_IF_ERROR(f->Append(data));
  if (sync) SH_RETURN_IF_ERROR(f->Sync());
  return f->Close();
}

TEST(PathTest, DirNameAndJoin) {
  EXPECT_EQ(DirName("a/b"), "a");
  EXPECT_EQ(DirName("a/b/"), "a");
  EXPECT_EQ(DirName("b"), ".");
  EXPECT_EQ(DirName("/b"), "/");
  EXPECT_EQ(DirName("/x//y"), "/x");
  EXPECT_EQ(JoinPath("a", "b"), "a/b");
  EXPECT_EQ(JoinPath("a/", "b"), "a/b");
  EXPECT_EQ(JoinPath("", "b"), "b");
}

TEST(PosixErrorTest, Codes) {
  EXPECT_EQ(PosixError("x", ENOSPC).code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(PosixError("x", EDQUOT).code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(PosixError("x", EIO).code(), StatusCode::kDataLoss);
  EXPECT_EQ(PosixError("x", ENOENT).code(), StatusCode::kNotFound);
  Status s = PosixError("/d/f: write", ENOSPC);
  EXPECT_EQ(s.message(), "/d/f: write: No space left on device");
}

// The same contract for the POSIX Env (in a temporary directory) and MemEnv.
class EnvContractTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (GetParam()) {
      env_ = Env::Default();
      root_ = testing::MakeTempDir();
    } else {
      mem_ = std::make_unique<MemEnv>();
      env_ = mem_.get();
      root_ = "/mem/root";
      ASSERT_TRUE(env_->CreateDirs(root_).ok());
    }
  }
  void TearDown() override { EXPECT_TRUE(env_->DeleteDirRecursive(root_).ok()); }
  std::string P(std::string_view name) { return JoinPath(root_, name); }

  std::unique_ptr<MemEnv> mem_;
  Env* env_ = nullptr;
  std::string root_;
};

TEST_P(EnvContractTest, WriteAppendRead) {
  auto w = env_->NewWritableFile(P("f"));
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  ASSERT_TRUE((*w)->Append("hello ").ok());
  ASSERT_TRUE((*w)->Append("").ok());
  ASSERT_TRUE((*w)->Append("world").ok());
  EXPECT_EQ((*w)->Size(), 11u);
  ASSERT_TRUE((*w)->Sync().ok());
  ASSERT_TRUE((*w)->Close().ok());
  EXPECT_FALSE((*w)->Append("x").ok());

  auto a = env_->NewAppendableFile(P("f"));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ((*a)->Size(), 11u);
  ASSERT_TRUE((*a)->Append("!").ok());
  EXPECT_EQ((*a)->Size(), 12u);
  a->reset();  // the destructor closes

  auto r = env_->NewRandomAccessFile(P("f"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->Size(), 12u);
  std::string out;
  ASSERT_TRUE((*r)->Read(6, 5, &out).ok());
  EXPECT_EQ(out, "world");
  ASSERT_TRUE((*r)->Read(12, 0, &out).ok());
  EXPECT_EQ(out, "");
  Status s = (*r)->Read(8, 10, &out);
  EXPECT_EQ(s.code(), StatusCode::kOutOfRange);
  EXPECT_TRUE(Contains(s.message(), P("f"))) << s.message();
  EXPECT_TRUE(Contains(s.message(), "offset 8")) << s.message();

  auto all = env_->ReadFile(P("f"));
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, "hello world!");
  auto size = env_->FileSize(P("f"));
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, 12u);

  // Truncating and writing anew.
  auto w2 = env_->NewWritableFile(P("f"));
  ASSERT_TRUE(w2.ok());
  EXPECT_EQ((*w2)->Size(), 0u);
  ASSERT_TRUE((*w2)->Close().ok());
  EXPECT_EQ(*env_->ReadFile(P("f")), "");
}

TEST_P(EnvContractTest, ErrorsNameThePath) {
  auto r = env_->NewRandomAccessFile(P("missing"));
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(Contains(r.status().message(), P("missing")));
  EXPECT_EQ(env_->ReadFile(P("missing")).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(env_->FileSize(P("missing")).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(env_->DeleteFile(P("missing")).code(), StatusCode::kNotFound);
  EXPECT_EQ(env_->ListDir(P("missing")).status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(env_->RenameFile(P("missing"), P("other")).ok());
  EXPECT_FALSE(env_->TruncateFile(P("missing"), 0).ok());
  // No implicit parent directories.
  auto w = env_->NewWritableFile(P("no/such/dir/f"));
  EXPECT_EQ(w.status().code(), StatusCode::kNotFound);
}

TEST_P(EnvContractTest, DirectoriesAndListing) {
  ASSERT_TRUE(env_->CreateDirs(P("a/b/c")).ok());
  ASSERT_TRUE(env_->CreateDirs(P("a/b/c")).ok());  // idempotent
  ASSERT_TRUE(env_->CreateDirs(P("a//b/")).ok());
  ASSERT_TRUE(WriteAll(env_, P("a/z"), "1", false).ok());
  ASSERT_TRUE(WriteAll(env_, P("a/m"), "22", false).ok());
  ASSERT_TRUE(WriteAll(env_, P("a/b/c/deep"), "333", true).ok());
  auto names = env_->ListDir(P("a"));
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, (std::vector<std::string>{"b", "m", "z"}));
  EXPECT_TRUE(env_->FileExists(P("a")));
  EXPECT_TRUE(env_->FileExists(P("a/m")));
  EXPECT_FALSE(env_->FileExists(P("a/nope")));
  ASSERT_TRUE(env_->SyncDir(P("a")).ok());
  EXPECT_FALSE(env_->CreateDirs(P("a/m/x")).ok());  // a file is in the way

  ASSERT_TRUE(env_->RenameFile(P("a/m"), P("a/b/m2")).ok());
  EXPECT_FALSE(env_->FileExists(P("a/m")));
  EXPECT_EQ(*env_->ReadFile(P("a/b/m2")), "22");
  // Rename replaces the target.
  ASSERT_TRUE(env_->RenameFile(P("a/z"), P("a/b/m2")).ok());
  EXPECT_EQ(*env_->ReadFile(P("a/b/m2")), "1");

  ASSERT_TRUE(env_->DeleteFile(P("a/b/m2")).ok());
  EXPECT_EQ(*env_->ListDir(P("a/b")), (std::vector<std::string>{"c"}));
  ASSERT_TRUE(env_->DeleteDirRecursive(P("a")).ok());
  EXPECT_FALSE(env_->FileExists(P("a")));
  EXPECT_FALSE(env_->FileExists(P("a/b/c/deep")));
  EXPECT_TRUE(env_->DeleteDirRecursive(P("a")).ok());  // missing is fine
  EXPECT_TRUE(env_->ListDir(root_)->empty());
}

TEST_P(EnvContractTest, TruncateAndAtomicWrite) {
  ASSERT_TRUE(WriteAll(env_, P("t"), "0123456789", false).ok());
  ASSERT_TRUE(env_->TruncateFile(P("t"), 4).ok());
  EXPECT_EQ(*env_->ReadFile(P("t")), "0123");
  ASSERT_TRUE(env_->TruncateFile(P("t"), 6).ok());
  EXPECT_EQ(*env_->ReadFile(P("t")), std::string("0123\0\0", 6));

  ASSERT_TRUE(env_->WriteFileAtomic(P("meta"), "v1").ok());
  ASSERT_TRUE(env_->WriteFileAtomic(P("meta"), "version two").ok());
  EXPECT_EQ(*env_->ReadFile(P("meta")), "version two");
  // No temporary files are left behind.
  EXPECT_EQ(*env_->ListDir(root_), (std::vector<std::string>{"meta", "t"}));
}

TEST_P(EnvContractTest, ConcurrentFiles) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      std::string path = P("c" + std::to_string(t));
      auto w = env_->NewWritableFile(path);
      ASSERT_TRUE(w.ok());
      for (int i = 0; i < 100; ++i) ASSERT_TRUE((*w)->Append(std::string(10, 'a' + t)).ok());
      ASSERT_TRUE((*w)->Close().ok());
      EXPECT_EQ(*env_->ReadFile(path), std::string(1000, 'a' + t));
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(env_->ListDir(root_)->size(), 8u);
}

TEST_P(EnvContractTest, Clock) {
  uint64_t now = env_->NowNanos();
  EXPECT_GT(now, uint64_t{1600000000} * 1000000000u);  // after 2020
}

INSTANTIATE_TEST_SUITE_P(Envs, EnvContractTest, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "Posix" : "Mem"; });

// /dev/full (always there on Linux) fails every write with ENOSPC.
TEST(PosixEnvTest, DiskFullIsResourceExhausted) {
  ASSERT_TRUE(Env::Default()->FileExists("/dev/full"));
  auto w = Env::Default()->NewAppendableFile("/dev/full");
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  Status s = (*w)->Append("data");
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), "/dev/full")) << s.message();
  EXPECT_TRUE(Contains(s.message(), "No space left")) << s.message();
}

TEST(PosixEnvTest, BigWritesAreComplete) {
  Env* env = Env::Default();
  std::string dir = testing::MakeTempDir();
  std::string data(8 << 20, 'q');
  for (size_t i = 0; i < data.size(); i += 4096) data[i] = static_cast<char>(i / 4096);
  ASSERT_TRUE(WriteAll(env, dir + "/big", data, true).ok());
  EXPECT_EQ(*env->ReadFile(dir + "/big"), data);
  ASSERT_TRUE(env->DeleteDirRecursive(dir).ok());
}

TEST(MemEnvTest, DropUnsyncedData) {
  MemEnv env;
  ASSERT_TRUE(env.CreateDirs("d").ok());
  auto f = env.NewWritableFile("d/f");
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Append("synced").ok());
  ASSERT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE((*f)->Append(" lost").ok());
  // Until its directory is synced, a crash would lose d/f entirely.
  ASSERT_TRUE(env.SyncDir("d").ok());
  auto g = env.NewWritableFile("d/g");  // created after the SyncDir
  ASSERT_TRUE((*g)->Append("g").ok());
  ASSERT_TRUE((*g)->Sync().ok());
  ASSERT_TRUE(env.WriteFileAtomic("d/atomic", "durable").ok());
  ASSERT_TRUE(WriteAll(&env, "d/t", "0123456789", true).ok());
  ASSERT_TRUE(env.SyncDir("d").ok());
  ASSERT_TRUE(env.TruncateFile("d/t", 3).ok());
  auto late = env.NewWritableFile("d/late");
  ASSERT_TRUE((*late)->Append("never synced").ok());

  env.DropUnsyncedData();
  EXPECT_EQ(*env.ReadFile("d/f"), "synced");
  EXPECT_EQ(*env.ReadFile("d/g"), "g");  // the second SyncDir covered it
  EXPECT_EQ(*env.ReadFile("d/atomic"), "durable");
  EXPECT_EQ(*env.ReadFile("d/t"), "012");
  EXPECT_FALSE(env.FileExists("d/late"));
  // Handles stay usable; what they write after the crash is there until the next one.
  ASSERT_TRUE((*f)->Append("+more").ok());
  EXPECT_EQ(*env.ReadFile("d/f"), "synced+more");
  env.DropUnsyncedData();
  EXPECT_EQ(*env.ReadFile("d/f"), "synced");
}

TEST(MemEnvTest, UnsyncedRenameIsNotDurable) {
  MemEnv env;
  ASSERT_TRUE(env.CreateDirs("d/sub").ok());
  ASSERT_TRUE(WriteAll(&env, "d/a", "x", true).ok());
  ASSERT_TRUE(env.SyncDir("d").ok());
  ASSERT_TRUE(env.RenameFile("d/a", "d/sub/a").ok());
  MemEnv other;
  ASSERT_TRUE(other.CreateDirs("d/sub").ok());
  ASSERT_TRUE(WriteAll(&other, "d/a", "x", true).ok());
  ASSERT_TRUE(other.SyncDir("d").ok());
  ASSERT_TRUE(other.RenameFile("d/a", "d/sub/a").ok());
  ASSERT_TRUE(other.SyncDir("d/sub").ok());
  env.DropUnsyncedData();
  other.DropUnsyncedData();
  EXPECT_FALSE(env.FileExists("d/sub/a"));
  EXPECT_TRUE(other.FileExists("d/sub/a"));
}

TEST(MemEnvTest, FakeClockAndPaths) {
  MemEnv env;
  env.SetNowNanos(42);
  EXPECT_EQ(env.NowNanos(), 42u);
  ASSERT_TRUE(env.CreateDirs("/x/y").ok());
  ASSERT_TRUE(WriteAll(&env, "/x//y/./f", "1", false).ok());
  EXPECT_TRUE(env.FileExists("/x/y/f"));
  EXPECT_EQ(*env.ListDir("/x/y/"), (std::vector<std::string>{"f"}));
  EXPECT_EQ(*env.ListDir("/"), (std::vector<std::string>{"x"}));
  EXPECT_FALSE(env.NewWritableFile("/x/y").ok());  // a directory
}

class FaultEnvTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(mem_.CreateDirs("d").ok()); }
  MemEnv mem_;
  FaultEnv env_{&mem_};
};

TEST_F(FaultEnvTest, FailNextAppends) {
  auto f = env_.NewWritableFile("d/wal");
  ASSERT_TRUE(f.ok());
  env_.FailNext(FaultEnv::Op::kAppend, 2, ENOSPC);
  Status s = (*f)->Append("abc");
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_TRUE(Contains(s.message(), "d/wal")) << s.message();
  EXPECT_TRUE(Contains(s.message(), "(injected)")) << s.message();
  EXPECT_EQ((*f)->Append("abc").code(), StatusCode::kResourceExhausted);
  EXPECT_TRUE((*f)->Append("xyz").ok());  // both faults consumed
  EXPECT_EQ(*mem_.ReadFile("d/wal"), "xyz");
  env_.FailNext(FaultEnv::Op::kAppend, 1, EIO);
  EXPECT_EQ((*f)->Append("q").code(), StatusCode::kDataLoss);
  auto c = env_.counters();
  EXPECT_EQ(c.appends, 4u);
  EXPECT_EQ(c.faults, 3u);
  EXPECT_EQ(c.bytes_appended, 3u);
  EXPECT_EQ(c.opens, 1u);
}

TEST_F(FaultEnvTest, PathSubstringTargets) {
  auto a = env_.NewWritableFile("d/data.1");
  auto b = env_.NewWritableFile("d/index");
  env_.FailNext(FaultEnv::Op::kAppend, 1, EIO, "data");
  EXPECT_TRUE((*b)->Append("i").ok());
  EXPECT_FALSE((*a)->Append("d").ok());
  EXPECT_TRUE((*a)->Append("d").ok());
}

TEST_F(FaultEnvTest, ShortAppendIsATornWrite) {
  auto f = env_.NewWritableFile("d/f");
  env_.ShortNextAppends(1, 4, EIO);
  Status s = (*f)->Append("0123456789");
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_TRUE(Contains(s.message(), "short write")) << s.message();
  EXPECT_EQ(*mem_.ReadFile("d/f"), "0123");
}

TEST_F(FaultEnvTest, FailAfterBytes) {
  auto f = env_.NewWritableFile("d/f");
  auto other = env_.NewWritableFile("d/other");
  env_.FailAfterBytes(10, ENOSPC, "d/f");
  EXPECT_TRUE((*f)->Append("123456").ok());
  EXPECT_TRUE((*other)->Append(std::string(100, 'o')).ok());  // not targeted
  EXPECT_EQ((*f)->Append("789abc").code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(*mem_.ReadFile("d/f"), "123456789a");
  EXPECT_EQ((*f)->Append("z").code(), StatusCode::kResourceExhausted);  // stays full
  env_.ClearFaults();
  EXPECT_TRUE((*f)->Append("z").ok());
}

TEST_F(FaultEnvTest, SyncRenameAndOtherFaults) {
  auto f = env_.NewWritableFile("d/f");
  ASSERT_TRUE((*f)->Append("x").ok());
  env_.FailNext(FaultEnv::Op::kSync, 1, EIO);
  Status s = (*f)->Sync();
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_TRUE(Contains(s.message(), "fdatasync")) << s.message();
  EXPECT_TRUE((*f)->Sync().ok());

  ASSERT_TRUE(env_.WriteFileAtomic("d/meta", "old").ok());
  env_.FailNext(FaultEnv::Op::kRename, 1, EIO, "meta");
  EXPECT_FALSE(env_.WriteFileAtomic("d/meta", "new").ok());
  EXPECT_EQ(*env_.ReadFile("d/meta"), "old");
  EXPECT_EQ(env_.ListDir("d")->size(), 2u);  // the temporary file was removed

  env_.FailNext(FaultEnv::Op::kSyncDir, 1, EIO);
  EXPECT_FALSE(env_.SyncDir("d").ok());
  env_.FailNext(FaultEnv::Op::kTruncate, 1, EIO);
  EXPECT_FALSE(env_.TruncateFile("d/f", 0).ok());
  env_.FailNext(FaultEnv::Op::kDelete, 1, EIO);
  EXPECT_FALSE(env_.DeleteFile("d/f").ok());
  env_.FailNext(FaultEnv::Op::kOpen, 1, EACCES);
  EXPECT_EQ(env_.NewRandomAccessFile("d/f").status().code(), StatusCode::kPermissionDenied);
  auto r = env_.NewRandomAccessFile("d/f");
  ASSERT_TRUE(r.ok());
  env_.FailNext(FaultEnv::Op::kRead, 1, EIO);
  std::string out;
  EXPECT_EQ((*r)->Read(0, 1, &out).code(), StatusCode::kDataLoss);
  EXPECT_TRUE((*r)->Read(0, 1, &out).ok());
  EXPECT_EQ(out, "x");
  auto c = env_.counters();
  EXPECT_EQ(c.syncs, 4u);  // two direct, two inside WriteFileAtomic
  EXPECT_GE(c.renames, 2u);
  EXPECT_EQ(c.reads, 3u);  // one inside ReadFile
  EXPECT_EQ(c.faults, 7u);
}

TEST_F(FaultEnvTest, SyncDelay) {
  auto f = env_.NewWritableFile("d/f");
  env_.SetSyncDelay(std::chrono::milliseconds(20));
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE((*f)->Sync().ok());
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(20));
}

}  // namespace
}  // namespace stackhouse
