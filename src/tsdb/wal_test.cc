#include "tsdb/wal.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "base/strings.h"
#include "base/testing/testing.h"
#include "tsdb/wal_format.h"

namespace stackhouse::tsdb {
namespace {

namespace fmt = wal_format;

bool Contains(const std::string& s, std::string_view part) {
  return s.find(part) != std::string::npos;
}

std::string Seg(const std::string& dir, uint64_t index) {
  return JoinPath(dir, fmt::SegmentName(index));
}

// Opens the WAL and collects what it replays.
struct Opened {
  Status status;
  std::vector<std::string> records;
  WalReplayReport report;
  std::unique_ptr<Wal> wal;
  std::string problems() const {
    std::string all;
    for (const auto& p : report.problems) all += p + "\n";
    return all;
  }
};

Opened OpenWal(Env* env, const std::string& dir, WalOptions options = {}) {
  Opened o;
  auto w = Wal::Open(
      env, dir, options,
      [&](std::string_view rec) {
        o.records.emplace_back(rec);
        return OkStatus();
      },
      &o.report);
  o.status = w.status();
  if (w.ok()) o.wal = std::move(w).value();
  return o;
}

// Repetitive text or random bytes.
std::string RandomRecord(std::mt19937_64& rng, size_t n, bool compressible) {
  std::string s(n, '\0');
  if (compressible) {
    for (size_t i = 0; i < n; ++i) s[i] = "stack;frame;"[(i + n) % 12];
  } else {
    for (size_t i = 0; i < n; i += 8) {
      uint64_t v = rng();
      std::memcpy(s.data() + i, &v, std::min<size_t>(8, n - i));
    }
  }
  return s;
}

// Offsets of the frames of a well-formed segment.
std::vector<uint64_t> FrameOffsets(const std::string& seg) {
  std::vector<uint64_t> out;
  uint64_t off = fmt::kSegmentHeaderSize;
  while (off + fmt::kFrameHeaderSize <= seg.size()) {
    out.push_back(off);
    off += fmt::kFrameHeaderSize + fmt::GetU32(seg.data() + off);
  }
  return out;
}

void PutFile(Env* env, const std::string& path, std::string_view data) {
  ASSERT_TRUE(env->CreateDirs(DirName(path)).ok());
  ASSERT_TRUE(env->WriteFileAtomic(path, data).ok());
}

size_t CountSegments(Env* env, const std::string& dir) {
  size_t n = 0;
  uint64_t i;
  std::vector<std::string> names = *env->ListDir(dir);
  for (const auto& name : names) n += fmt::ParseSegmentName(name, &i);
  return n;
}

// ---------------------------------------------------------------------------

class WalRoundTripTest : public ::testing::TestWithParam<bool> {};

TEST_P(WalRoundTripTest, ManyRecordsAcrossSegments) {
  MemEnv env;
  WalOptions options;
  options.compress = GetParam();
  options.segment_bytes = 512 << 10;
  std::mt19937_64 rng(7);
  std::vector<std::string> written;
  uint64_t total = 0, random_bytes = 0;
  {
    Opened o = OpenWal(&env, "/db/wal", options);
    ASSERT_TRUE(o.status.ok()) << o.status.ToString();
    EXPECT_TRUE(o.records.empty());
    for (int i = 0; i < 120; ++i) {
      size_t n = i == 0 ? 0 : i == 1 ? (1 << 20) : rng() % 8 ? rng() % 5000 : rng() % (1 << 20);
      bool compressible = i % 2 == 0;
      written.push_back(RandomRecord(rng, n, compressible));
      total += n;
      if (!compressible) random_bytes += n;
      // Mix single appends with batches of several records per sync.
      if (i % 3 == 0) {
        ASSERT_TRUE(o.wal->AppendAndSync(written.back()).ok());
      } else {
        uint64_t seq = o.wal->Append(written.back());
        EXPECT_EQ(seq, static_cast<uint64_t>(i + 1));
        if (i % 3 == 2) {
          ASSERT_TRUE(o.wal->Sync(seq).ok());
        }
      }
    }
    ASSERT_TRUE(o.wal->Close().ok());
    Wal::Stats st = o.wal->stats();
    EXPECT_EQ(st.records, 120u);
    EXPECT_EQ(st.batches, 80u);  // 40 single + 40 pairs
    if (GetParam()) {
      EXPECT_LT(st.bytes_written, random_bytes + (total - random_bytes) / 10 + 8192);
    } else {
      EXPECT_GT(st.bytes_written, total);
    }
  }
  EXPECT_GE(CountSegments(&env, "/db/wal"), 4u);
  Opened again = OpenWal(&env, "/db/wal", options);
  ASSERT_TRUE(again.status.ok()) << again.status.ToString();
  EXPECT_TRUE(again.report.problems.empty()) << again.problems();
  ASSERT_EQ(again.records.size(), written.size());
  for (size_t i = 0; i < written.size(); ++i) ASSERT_EQ(again.records[i], written[i]) << i;
  EXPECT_EQ(again.report.records, written.size());
  EXPECT_EQ(again.report.bytes, total);
}

INSTANTIATE_TEST_SUITE_P(Compression, WalRoundTripTest, ::testing::Bool());

TEST(WalTest, RoundTripOnDisk) {
  Env* env = Env::Default();
  std::string dir = JoinPath(testing::MakeTempDir(), "wal");
  WalOptions options;
  options.segment_bytes = 64 << 10;
  std::mt19937_64 rng(3);
  std::vector<std::string> written;
  {
    Opened o = OpenWal(env, dir, options);
    ASSERT_TRUE(o.status.ok()) << o.status.ToString();
    for (int i = 0; i < 200; ++i) {
      written.push_back(RandomRecord(rng, rng() % 3000, i % 2 == 0));
      ASSERT_TRUE(o.wal->AppendAndSync(written.back()).ok());
    }
  }  // the destructor closes
  Opened again = OpenWal(env, dir, options);
  ASSERT_TRUE(again.status.ok());
  EXPECT_EQ(again.records, written);
  EXPECT_GT(CountSegments(env, dir), 3u);
  again.wal.reset();
  ASSERT_TRUE(env->DeleteDirRecursive(DirName(dir)).ok());
}

// ---------------------------------------------------------------------------
// Group commit: 64 threads x 200 AppendAndSync.

void RunGroupCommit(Env* env, const std::string& dir, const char* label) {
  constexpr int kThreads = 64, kPerThread = 200;
  Opened o = OpenWal(env, dir);
  ASSERT_TRUE(o.status.ok()) << o.status.ToString();
  std::atomic<uint64_t> observed{0};
  o.wal->SetSyncObserver([&](double) { observed.fetch_add(1); });
  uint64_t syncs_before = o.wal->stats().syncs;
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  std::atomic<int> errors{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        if (!o.wal->AppendAndSync(StrCat("t", t, "-", i, std::string(i % 50, 'x'))).ok()) ++errors;
      }
    });
  }
  for (auto& th : threads) th.join();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_EQ(errors.load(), 0);
  Wal::Stats st = o.wal->stats();
  const uint64_t records = kThreads * kPerThread;
  uint64_t syncs = st.syncs - syncs_before;
  EXPECT_EQ(st.records, records);
  EXPECT_EQ(observed.load(), syncs);
  EXPECT_LT(syncs, records / 4) << "group commit does not batch";
  ASSERT_FALSE(st.recent_sync_seconds.empty());
  std::printf(
      "[%s] %llu records, %llu fdatasyncs (%.1f records/sync), %llu frames, %.3f s; "
      "fdatasync mean %.3f ms, max %.3f ms\n",
      label, static_cast<unsigned long long>(records), static_cast<unsigned long long>(syncs),
      double(records) / syncs, static_cast<unsigned long long>(st.batches), secs,
      1e3 * st.sync_seconds_total / st.syncs, 1e3 * st.sync_seconds_max);
  ASSERT_TRUE(o.wal->Close().ok());

  Opened again = OpenWal(env, dir);
  ASSERT_TRUE(again.status.ok());
  ASSERT_EQ(again.records.size(), records);
  std::set<std::string> seen;
  std::vector<int> next(kThreads, 0);  // each thread's records replay in its order
  for (const std::string& r : again.records) {
    EXPECT_TRUE(seen.insert(r).second) << "replayed twice: " << r;
    int t, i;
    ASSERT_EQ(std::sscanf(r.c_str(), "t%d-%d", &t, &i), 2);
    EXPECT_EQ(i, next[t]++) << r;
  }
}

TEST(WalGroupCommitTest, SlowDiskInMemory) {
  MemEnv mem;
  FaultEnv env(&mem);
  env.SetSyncDelay(std::chrono::microseconds(500));
  RunGroupCommit(&env, "wal", "MemEnv, 0.5 ms fdatasync");
}

TEST(WalGroupCommitTest, RealDisk) {
  std::string dir = testing::MakeTempDir();
  RunGroupCommit(Env::Default(), JoinPath(dir, "wal"), "PosixEnv");
  ASSERT_TRUE(Env::Default()->DeleteDirRecursive(dir).ok());
}

// SyncAsync: the same group commit without a thread per waiter.

TEST(WalAsyncTest, CallbacksComeOnceAfterTheirSyncAndShareFsyncs) {
  constexpr int kThreads = 4, kPerThread = 300;
  MemEnv mem;
  FaultEnv env(&mem);
  env.SetSyncDelay(std::chrono::microseconds(500));
  Opened o = OpenWal(&env, "wal");
  ASSERT_TRUE(o.status.ok());
  std::mutex mu;
  std::map<uint64_t, int> calls;  // seq -> times called
  std::atomic<int> errors{0};
  std::atomic<int> early{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        uint64_t seq = o.wal->Append(StrCat("t", t, "-", i));
        // Half the writers wait as before, mixed with the callbacks.
        if (t % 2 == 1 && i % 3 == 0) {
          if (!o.wal->Sync(seq).ok()) ++errors;
          continue;
        }
        o.wal->SyncAsync(seq, [&, seq](Status s) {
          if (!s.ok()) ++errors;
          // Called after its sync: every record up to it is counted synced.
          if (o.wal->stats().records < seq) ++early;
          std::lock_guard<std::mutex> l(mu);
          ++calls[seq];
        });
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_TRUE(o.wal->Close().ok());  // waits for the callbacks still due
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(early.load(), 0);
  size_t async_records = 0;
  for (const auto& [seq, n] : calls) {
    EXPECT_EQ(n, 1) << "seq " << seq;
    ++async_records;
  }
  EXPECT_EQ(async_records, kThreads * kPerThread - (kThreads / 2) * ((kPerThread + 2) / 3));
  Wal::Stats st = o.wal->stats();
  EXPECT_EQ(st.records, uint64_t{kThreads * kPerThread});
  EXPECT_LT(st.syncs, st.records / 4) << "async syncs do not batch";
  o.wal.reset();
  // Everything called back is on disk even after losing unsynced data.
  mem.DropUnsyncedData();
  Opened again = OpenWal(&env, "wal");
  ASSERT_TRUE(again.status.ok());
  EXPECT_EQ(again.records.size(), size_t{kThreads * kPerThread});
}

TEST(WalAsyncTest, EveryCallbackGetsTheFailureOrTheMisuse) {
  MemEnv mem;
  FaultEnv env(&mem);
  Opened o = OpenWal(&env, "wal");
  ASSERT_TRUE(o.status.ok());
  std::vector<Status> got;
  std::mutex mu;
  auto record = [&](Status s) {
    std::lock_guard<std::mutex> l(mu);
    got.push_back(std::move(s));
  };
  // Misuse is reported at once, on the caller's thread.
  o.wal->SyncAsync(0, record);
  o.wal->SyncAsync(5, record);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(got[1].code(), StatusCode::kInvalidArgument);
  got.clear();
  uint64_t ok_seq = o.wal->Append("ok");
  ASSERT_TRUE(o.wal->Sync(ok_seq).ok());
  o.wal->SyncAsync(ok_seq, record);  // already durable: at once
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].ok());
  got.clear();

  env.FailNext(FaultEnv::Op::kSync, 1, EIO, "wal/0");
  for (int i = 0; i < 5; ++i) o.wal->SyncAsync(o.wal->Append(StrCat("r", i)), record);
  Status closed = o.wal->Close();
  EXPECT_FALSE(closed.ok());
  ASSERT_EQ(got.size(), 5u);  // Close waited for them
  for (const Status& s : got) {
    EXPECT_EQ(s.code(), StatusCode::kDataLoss) << s.ToString();
    EXPECT_TRUE(Contains(s.message(), "failed until reopened")) << s.message();
  }
  got.clear();
  o.wal->SyncAsync(o.wal->Append("late"), record);  // after the failure: at once
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], closed);
}

TEST(WalAsyncTest, CloseSyncsWhatIsPendingAndLaterCallsFail) {
  MemEnv env;
  Opened o = OpenWal(&env, "wal");
  std::atomic<int> ok{0}, failed{0};
  for (int i = 0; i < 50; ++i) {
    o.wal->SyncAsync(o.wal->Append(StrCat("r", i)), [&](Status s) { ++(s.ok() ? ok : failed); });
  }
  ASSERT_TRUE(o.wal->Close().ok());
  EXPECT_EQ(ok.load() + failed.load(), 50);
  EXPECT_EQ(failed.load(), 0);  // Close synced them
  Status late;
  o.wal->SyncAsync(o.wal->Append("after close"), [&](Status s) { late = s; });
  EXPECT_EQ(late.code(), StatusCode::kFailedPrecondition) << late.ToString();
  o.wal.reset();
  Opened again = OpenWal(&env, "wal");
  EXPECT_EQ(again.records.size(), 50u);
}

// ---------------------------------------------------------------------------
// Durability: what was acknowledged survives a crash.

TEST(WalTest, AcknowledgedRecordsSurviveACrash) {
  MemEnv mem;
  FaultEnv env(&mem);
  WalOptions options;
  options.segment_bytes = 2048;  // many segment cuts: each new file must be durable
  std::mutex mu;
  std::set<std::string> acked, attempted;
  {
    Opened o = OpenWal(&env, "wal", options);
    ASSERT_TRUE(o.status.ok());
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 100; ++i) {
          std::string rec = StrCat("rec-", t, "-", i);
          {
            std::lock_guard<std::mutex> l(mu);
            attempted.insert(rec);
          }
          if (o.wal->AppendAndSync(rec).ok()) {
            std::lock_guard<std::mutex> l(mu);
            acked.insert(rec);
          }
        }
      });
    }
    for (auto& th : threads) th.join();
    ASSERT_EQ(acked.size(), 800u);
    // Records written but never synced: the sync fails.
    env.FailNext(FaultEnv::Op::kSync, 1, EIO);
    for (int i = 0; i < 5; ++i) {
      attempted.insert(StrCat("unsynced-", i));
      o.wal->Append(StrCat("unsynced-", i));
    }
    EXPECT_FALSE(o.wal->Sync(o.wal->Append("last")).ok());
    attempted.insert("last");
  }
  mem.DropUnsyncedData();  // the crash
  Opened again = OpenWal(&env, "wal", options);
  ASSERT_TRUE(again.status.ok()) << again.status.ToString();
  std::set<std::string> replayed(again.records.begin(), again.records.end());
  EXPECT_EQ(replayed.size(), again.records.size()) << "duplicates";
  for (const std::string& r : acked) EXPECT_TRUE(replayed.count(r)) << "lost acknowledged " << r;
  for (const std::string& r : replayed) EXPECT_TRUE(attempted.count(r)) << "garbage " << r;
  EXPECT_FALSE(replayed.count("last"));  // its frame was never synced
}

// ---------------------------------------------------------------------------
// Torn tail: cut or damage the last frame anywhere.

class WalTornTailTest : public ::testing::TestWithParam<bool> {};

TEST_P(WalTornTailTest, EveryCutAndEveryFlippedByte) {
  MemEnv env;
  const std::string dir = "/wal", seg = Seg(dir, 1);
  std::vector<std::string> records = {"one", "", "three", std::string(300, 'f')};
  uint64_t frame_start;
  {
    Opened o = OpenWal(&env, dir);
    for (const auto& r : records) ASSERT_TRUE(o.wal->AppendAndSync(r).ok());
    frame_start = *env.FileSize(seg);
    // The last frame: compressed (3 KiB of text) or not.
    std::string last = GetParam() ? std::string(3000, 'z') + "tail" : "last record";
    ASSERT_TRUE(o.wal->AppendAndSync(last).ok());
  }
  const std::string good = *env.ReadFile(seg);
  ASSERT_EQ(good[frame_start + 9] != 0, GetParam());  // the zstd flag
  auto check = [&](const std::string& content, const std::string& what) {
    SCOPED_TRACE(what);
    MemEnv e;
    PutFile(&e, seg, content);
    Opened o = OpenWal(&e, dir);
    ASSERT_TRUE(o.status.ok()) << o.status.ToString();
    EXPECT_EQ(o.records, records);
    ASSERT_EQ(o.report.problems.size(), 1u) << o.problems();
    EXPECT_TRUE(Contains(o.report.problems[0], seg)) << o.problems();
    EXPECT_TRUE(Contains(o.report.problems[0], StrCat("offset ", frame_start))) << o.problems();
    EXPECT_EQ(*e.FileSize(seg), frame_start);
    o.wal.reset();
    Opened again = OpenWal(&e, dir);
    ASSERT_TRUE(again.status.ok());
    EXPECT_EQ(again.records, records);
    EXPECT_TRUE(again.report.problems.empty()) << again.problems();
  };
  for (uint64_t cut = frame_start + 1; cut < good.size(); ++cut) {
    check(good.substr(0, cut), StrCat("cut at ", cut));
  }
  for (uint64_t pos = frame_start; pos < good.size(); ++pos) {
    std::string bad = good;
    bad[pos] ^= 0x41;
    check(bad, StrCat("flipped byte at ", pos));
  }
  // A zero-filled tail (what some filesystems show after a crash) is torn too.
  check(good.substr(0, frame_start) + std::string(100, '\0'), "zeros");
}

INSTANTIATE_TEST_SUITE_P(Compression, WalTornTailTest, ::testing::Bool());

// ---------------------------------------------------------------------------
// Mid-log corruption.

TEST(WalTest, CorruptionInTheMiddleIsSetAside) {
  MemEnv env;
  const std::string dir = "data/wal";
  WalOptions options;
  options.segment_bytes = 1000;
  options.compress = false;
  std::vector<std::string> written;
  {
    Opened o = OpenWal(&env, dir, options);
    for (int i = 0; o.wal->current_segment() < 4 || i % 5 != 0; ++i) {
      written.push_back(StrCat("record ", i, std::string(90, '.')));
      ASSERT_TRUE(o.wal->AppendAndSync(written.back()).ok());
    }
  }
  ASSERT_EQ(CountSegments(&env, dir), 4u);
  std::string s1 = *env.ReadFile(Seg(dir, 1)), s2 = *env.ReadFile(Seg(dir, 2));
  size_t in_s1 = FrameOffsets(s1).size();
  std::vector<uint64_t> frames2 = FrameOffsets(s2);
  ASSERT_GE(frames2.size(), 3u);
  uint64_t bad = frames2[1];
  s2[bad + fmt::kFrameHeaderSize + 3] ^= 1;  // payload byte of the 2nd frame
  PutFile(&env, Seg(dir, 2), s2);
  uint64_t size3 = *env.FileSize(Seg(dir, 3)), size4 = *env.FileSize(Seg(dir, 4));

  Opened o = OpenWal(&env, dir, options);
  ASSERT_TRUE(o.status.ok()) << o.status.ToString();
  std::vector<std::string> expected(written.begin(), written.begin() + in_s1 + 1);
  EXPECT_EQ(o.records, expected);
  ASSERT_EQ(o.report.problems.size(), 1u) << o.problems();
  const std::string& p = o.report.problems[0];
  EXPECT_TRUE(Contains(p, Seg(dir, 2) + ": corrupt frame at offset " + std::to_string(bad))) << p;
  EXPECT_TRUE(Contains(p, "checksum mismatch")) << p;
  EXPECT_TRUE(Contains(p, StrCat("dropped ", s2.size() - bad, " bytes"))) << p;
  EXPECT_TRUE(Contains(p, StrCat("2 later segments (", size3 + size4, " bytes"))) << p;
  EXPECT_EQ(*env.FileSize(Seg(dir, 2)), bad);
  // Nothing was deleted: the rest is in corrupt/.
  const std::string tail_name = StrCat("00000002.tail-", bad);
  EXPECT_EQ(*env.ListDir(dir + "/corrupt"),
            (std::vector<std::string>{tail_name, "00000003", "00000004"}));
  EXPECT_EQ(*env.ReadFile(dir + "/corrupt/" + tail_name), s2.substr(bad));
  EXPECT_EQ(*env.FileSize(dir + "/corrupt/00000004"), size4);
  // Open started segment 3 anew; appending and reopening is clean.
  EXPECT_EQ(o.wal->current_segment(), 3u);
  ASSERT_TRUE(o.wal->AppendAndSync("after repair").ok());
  o.wal.reset();
  expected.push_back("after repair");
  Opened again = OpenWal(&env, dir, options);
  EXPECT_EQ(again.records, expected);
  EXPECT_TRUE(again.report.problems.empty()) << again.problems();
}

TEST(WalTest, MissingSegmentBadHeaderAndVersion) {
  MemEnv env;
  const std::string dir = "wal";
  std::string frame;
  std::string rec;
  fmt::AppendRecord(&rec, "r");
  fmt::AppendFrame(&frame, fmt::kTypeRecordBatch, 0, rec);
  const std::string seg = fmt::SegmentHeader() + frame;
  PutFile(&env, Seg(dir, 1), seg);
  PutFile(&env, Seg(dir, 2), seg);
  PutFile(&env, Seg(dir, 4), seg);  // 3 is missing
  Opened o = OpenWal(&env, dir);
  ASSERT_TRUE(o.status.ok());
  EXPECT_EQ(o.records.size(), 2u);
  ASSERT_EQ(o.report.problems.size(), 1u);
  EXPECT_TRUE(Contains(o.report.problems[0], "wal/00000003: missing segment")) << o.problems();
  EXPECT_TRUE(env.FileExists("wal/corrupt/00000004"));
  o.wal.reset();  // leaves wal/00000003 (header only)

  // Bad magic in the middle: that segment and the later ones are set aside.
  PutFile(&env, Seg(dir, 2), "NOTAWAL!" + frame);
  Opened b = OpenWal(&env, dir);
  ASSERT_TRUE(b.status.ok());
  EXPECT_EQ(b.records.size(), 1u);
  ASSERT_EQ(b.report.problems.size(), 1u);
  EXPECT_TRUE(Contains(b.report.problems[0], "wal/00000002: bad segment header")) << b.problems();
  EXPECT_TRUE(env.FileExists("wal/corrupt/00000002"));
  EXPECT_TRUE(env.FileExists("wal/corrupt/00000003"));
  b.wal.reset();

  // A newer version is not ours to repair: Open fails and touches nothing.
  std::string v2 = seg;
  fmt::PutU16(v2.data() + 6, 2);
  PutFile(&env, Seg(dir, 3), v2);
  Opened c = OpenWal(&env, dir);
  EXPECT_EQ(c.status.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Contains(c.status.message(), "wal/00000003: WAL format version 2"))
      << c.status.ToString();
  EXPECT_EQ(*env.ReadFile(Seg(dir, 3)), v2);
}

TEST(WalTest, TornSegmentHeaderIsRemoved) {
  MemEnv env;
  PutFile(&env, "wal/00000001", fmt::SegmentHeader());
  PutFile(&env, "wal/00000002", fmt::SegmentHeader().substr(0, 3));
  Opened o = OpenWal(&env, "wal");
  ASSERT_TRUE(o.status.ok());
  ASSERT_EQ(o.report.problems.size(), 1u);
  EXPECT_TRUE(Contains(o.report.problems[0], "wal/00000002: torn tail")) << o.problems();
  EXPECT_EQ(o.wal->current_segment(), 2u);  // the index is reused
  EXPECT_EQ(*env.FileSize("wal/00000002"), fmt::kSegmentHeaderSize);
}

TEST(WalTest, HostileSizesAreCorruptionNotAllocations) {
  MemEnv env;
  auto frame = [](uint8_t flags, std::string_view payload) {
    std::string f;
    fmt::AppendFrame(&f, fmt::kTypeRecordBatch, flags, payload);
    return f;
  };
  std::string huge_record;  // varint 1 GiB, then 3 bytes
  protowire::Writer(&huge_record).Varint(uint64_t{1} << 30);
  huge_record += "abc";
  // A zstd frame header declaring 2 GiB of content (single segment, FCS 8 bytes).
  std::string zstd_header = "\x28\xb5\x2f\xfd\xe0";
  uint64_t big = uint64_t{2} << 30;
  zstd_header.append(reinterpret_cast<const char*>(&big), 8);
  std::string length_claim(fmt::kFrameHeaderSize, '\0');
  fmt::PutU32(length_claim.data(), 300u << 20);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {frame(0, huge_record), "runs past its end"},
      {frame(fmt::kFlagZstd, zstd_header), "over the limit"},
      {frame(fmt::kFlagZstd, "not zstd at all"), "not a zstd frame"},
      {length_claim + "xyz", "runs past the end of the file"},
  };
  for (const auto& [bad, why] : cases) {
    PutFile(&env, "w/00000001", fmt::SegmentHeader() + frame(0, std::string("\x02ok", 3)) + bad);
    Opened o = OpenWal(&env, "w");
    ASSERT_TRUE(o.status.ok()) << o.status.ToString();
    EXPECT_EQ(o.records, std::vector<std::string>{"ok"});
    ASSERT_EQ(o.report.problems.size(), 1u) << why;
    EXPECT_TRUE(Contains(o.report.problems[0], why)) << o.problems();
    o.wal.reset();
    ASSERT_TRUE(env.DeleteDirRecursive("w").ok());
  }
}

TEST(WalTest, ReplayErrorAbortsOpen) {
  MemEnv env;
  {
    Opened o = OpenWal(&env, "wal");
    ASSERT_TRUE(o.wal->AppendAndSync("a").ok());
    ASSERT_TRUE(o.wal->AppendAndSync("b").ok());
  }
  int calls = 0;
  auto w = Wal::Open(
      &env, "wal", {},
      [&](std::string_view r) {
        ++calls;
        return r == "b" ? InvalidArgumentError("bad record b") : OkStatus();
      },
      nullptr);
  EXPECT_EQ(w.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(w.status().message(), "bad record b"));
  EXPECT_TRUE(Contains(w.status().message(), "wal/00000001")) << w.status().ToString();
  EXPECT_EQ(calls, 2);
}

// ---------------------------------------------------------------------------
// Faults: the WAL fails for good and a reopen recovers what was acknowledged.

enum class Fault { kDiskFull, kTornWrite, kFsyncFails, kFullAfterBytes };

class WalFaultTest : public ::testing::TestWithParam<Fault> {};

TEST_P(WalFaultTest, FailsForGoodAndRecovers) {
  for (bool crash : {false, true}) {
    SCOPED_TRACE(crash ? "with crash" : "without crash");
    MemEnv mem;
    FaultEnv env(&mem);
    std::vector<std::string> acked;
    Opened o = OpenWal(&env, "wal");
    ASSERT_TRUE(o.status.ok());
    for (int i = 0; i < 20; ++i) {
      acked.push_back(StrCat("acked ", i, std::string(i * 40, 'a')));
      ASSERT_TRUE(o.wal->AppendAndSync(acked.back()).ok());
    }
    StatusCode code = StatusCode::kDataLoss;
    switch (GetParam()) {
      case Fault::kDiskFull:
        env.FailNext(FaultEnv::Op::kAppend, 1, ENOSPC, "wal/0");
        code = StatusCode::kResourceExhausted;
        break;
      case Fault::kTornWrite:
        env.ShortNextAppends(1, 17, EIO, "wal/0");
        break;
      case Fault::kFsyncFails:
        env.FailNext(FaultEnv::Op::kSync, 1, EIO, "wal/0");
        break;
      case Fault::kFullAfterBytes:
        env.FailAfterBytes(10, ENOSPC, "wal/0");
        code = StatusCode::kResourceExhausted;
        break;
    }
    Status s = o.wal->AppendAndSync(std::string(500, 'X'));
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.code(), code) << s.ToString();
    EXPECT_TRUE(Contains(s.message(), "wal/00000001")) << s.message();
    EXPECT_TRUE(Contains(s.message(), "failed until reopened")) << s.message();
    // Failed for good, even once the disk is healthy again.
    env.ClearFaults();
    EXPECT_EQ(o.wal->AppendAndSync("later"), s);
    EXPECT_EQ(o.wal->Sync(1), s);
    EXPECT_EQ(o.wal->Rotate().status(), s);
    EXPECT_EQ(o.wal->RemoveSegmentsBefore(1), s);
    EXPECT_EQ(o.wal->Close(), s);
    o.wal.reset();
    if (crash) mem.DropUnsyncedData();

    Opened again = OpenWal(&env, "wal");
    ASSERT_TRUE(again.status.ok()) << again.status.ToString();
    // Every acknowledged record, then at most the failed one, intact.
    ASSERT_GE(again.records.size(), acked.size()) << again.problems();
    EXPECT_TRUE(std::equal(acked.begin(), acked.end(), again.records.begin()));
    ASSERT_LE(again.records.size(), acked.size() + 1);
    if (again.records.size() > acked.size()) {
      EXPECT_EQ(GetParam(), Fault::kFsyncFails);
      EXPECT_FALSE(crash);
      EXPECT_EQ(again.records.back(), std::string(500, 'X'));
    }
    bool torn = GetParam() == Fault::kTornWrite || GetParam() == Fault::kFullAfterBytes;
    if (torn && !crash) {
      ASSERT_EQ(again.report.problems.size(), 1u);
      EXPECT_TRUE(Contains(again.report.problems[0], "wal/00000001: torn tail"))
          << again.problems();
    } else {
      EXPECT_TRUE(again.report.problems.empty()) << again.problems();
    }
    ASSERT_TRUE(again.wal->AppendAndSync("works again").ok());
  }
}

INSTANTIATE_TEST_SUITE_P(Faults, WalFaultTest,
                         ::testing::Values(Fault::kDiskFull, Fault::kTornWrite, Fault::kFsyncFails,
                                           Fault::kFullAfterBytes));

TEST(WalTest, FailingToCutASegmentFailsTheWal) {
  MemEnv mem;
  FaultEnv env(&mem);
  WalOptions options;
  options.segment_bytes = 100;
  Opened o = OpenWal(&env, "wal", options);
  ASSERT_TRUE(o.wal->AppendAndSync(std::string(200, 'a')).ok());
  env.FailNext(FaultEnv::Op::kOpen, 1, ENOSPC);
  Status s = o.wal->AppendAndSync("b");
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), "wal/00000002")) << s.message();
  EXPECT_FALSE(o.wal->AppendAndSync("c").ok());
}

// ---------------------------------------------------------------------------

TEST(WalTest, RotateAndRemoveSegmentsBefore) {
  MemEnv env;
  Opened o = OpenWal(&env, "wal");
  ASSERT_EQ(o.wal->current_segment(), 1u);
  EXPECT_EQ(*o.wal->Rotate(), 1u);  // nothing in segment 1 yet: no new segment
  for (const char* r : {"a1", "a2"}) ASSERT_TRUE(o.wal->AppendAndSync(r).ok());
  o.wal->Append("a3");  // pending: Rotate syncs it into the old segment
  auto idx = o.wal->Rotate();
  ASSERT_TRUE(idx.ok());
  EXPECT_EQ(*idx, 2u);
  for (const char* r : {"b1", "b2"}) ASSERT_TRUE(o.wal->AppendAndSync(r).ok());
  EXPECT_EQ(o.wal->RemoveSegmentsBefore(3).code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(o.wal->RemoveSegmentsBefore(*idx).ok());
  EXPECT_EQ(*env.ListDir("wal"), std::vector<std::string>{"00000002"});
  ASSERT_TRUE(o.wal->RemoveSegmentsBefore(*idx).ok());  // idempotent
  o.wal.reset();
  Opened again = OpenWal(&env, "wal");
  EXPECT_EQ(again.records, (std::vector<std::string>{"b1", "b2"}));
  EXPECT_TRUE(again.report.problems.empty()) << again.problems();
  EXPECT_EQ(again.wal->current_segment(), 3u);
}

TEST(WalTest, SequenceNumbersAndMisuse) {
  MemEnv env;
  Opened o = OpenWal(&env, "wal");
  EXPECT_EQ(o.wal->Append("x"), 1u);
  EXPECT_EQ(o.wal->Append("y"), 2u);
  EXPECT_EQ(o.wal->Sync(3).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(o.wal->Sync(2).ok());
  EXPECT_TRUE(o.wal->Sync(1).ok());  // already durable
  // A record over the limit is refused without being copied.
  std::unique_ptr<char[]> huge(new char[kWalMaxRecordBytes + 1]);
  EXPECT_EQ(o.wal->Append(std::string_view(huge.get(), kWalMaxRecordBytes + 1)), 0u);
  EXPECT_EQ(o.wal->Sync(0).code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(o.wal->Close().ok());
  ASSERT_TRUE(o.wal->Close().ok());
  uint64_t seq = o.wal->Append("after close");
  EXPECT_EQ(o.wal->Sync(seq).code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(o.wal->Sync(2).ok());
  Wal::Stats st = o.wal->stats();
  EXPECT_EQ(st.records, 2u);
  EXPECT_EQ(st.batches, 1u);
}

TEST(WalTest, WrongDirectory) {
  MemEnv env;
  PutFile(&env, "file", "x");
  EXPECT_FALSE(OpenWal(&env, "file").status.ok());
  EXPECT_EQ(OpenWal(nullptr, "x").status.code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace stackhouse::tsdb
