// Env: every file access of the storage engine goes through this interface,
// so tests can run it in memory, simulate a crash, or inject I/O faults.
//
// - Env::Default() is the POSIX implementation (env.cc). Errors name the path
//   and the system error; ENOSPC/EDQUOT are RESOURCE_EXHAUSTED, EIO is
//   DATA_LOSS, ENOENT is NOT_FOUND. EINTR is retried, short writes continue.
// - MemEnv (env_mem.cc) keeps files in memory and can forget everything that
//   was not synced (DropUnsyncedData), which is what a crash does.
// - FaultEnv (env_fault.cc) wraps another Env and makes chosen operations fail.
//
// Env implementations are thread-safe. A WritableFile or RandomAccessFile is
// owned by its caller; it is thread-compatible (one user at a time), except
// that RandomAccessFile::Read may be called concurrently.
#ifndef STACKHOUSE_BASE_ENV_H_
#define STACKHOUSE_BASE_ENV_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace stackhouse {

// A file being written sequentially. Appends are unbuffered: once Append
// returns, the bytes are in the operating system (not necessarily on disk).
class WritableFile {
 public:
  virtual ~WritableFile();  // closes the file if Close was not called
  virtual Status Append(std::string_view data) = 0;
  // Makes the data appended so far durable (fdatasync).
  virtual Status Sync() = 0;
  virtual Status Close() = 0;
  // Bytes in the file: what it held when opened plus what was appended.
  virtual uint64_t Size() const = 0;
};

class RandomAccessFile {
 public:
  virtual ~RandomAccessFile();
  // Replaces *out with the n bytes at offset. Reading past the end of the file
  // (a short read) is an OUT_OF_RANGE error naming the path and offset.
  virtual Status Read(uint64_t offset, size_t n, std::string* out) const = 0;
  // The size of the file when it was opened.
  virtual uint64_t Size() const = 0;
};

class Env {
 public:
  virtual ~Env();

  // The POSIX Env. Never destroyed.
  static Env* Default();

  // Creates or truncates.
  virtual StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) = 0;
  // Creates, or opens for appending at the end.
  virtual StatusOr<std::unique_ptr<WritableFile>> NewAppendableFile(const std::string& path) = 0;
  virtual StatusOr<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& path) = 0;

  // Whole-file helpers, built on the methods above (override for speed).
  virtual StatusOr<std::string> ReadFile(const std::string& path);
  // Writes `data` to a temporary file next to `path`, syncs it, renames it over
  // `path` and syncs the directory: afterwards `path` holds either the old or
  // the new content, durably.
  virtual Status WriteFileAtomic(const std::string& path, std::string_view data);

  // Replaces `to` if it exists. Not durable until SyncDir of both parents.
  virtual Status RenameFile(const std::string& from, const std::string& to) = 0;
  virtual Status DeleteFile(const std::string& path) = 0;
  // mkdir -p: creates missing parents; OK if the directory exists.
  virtual Status CreateDirs(const std::string& path) = 0;
  // rm -r: OK if the directory does not exist. Symlinks are removed, not followed.
  virtual Status DeleteDirRecursive(const std::string& path) = 0;
  // Names of the entries (files and directories), sorted, without . and ..
  virtual StatusOr<std::vector<std::string>> ListDir(const std::string& path) = 0;
  // True for files and directories.
  virtual bool FileExists(const std::string& path) = 0;
  virtual StatusOr<uint64_t> FileSize(const std::string& path) = 0;
  // Cuts (or zero-extends) the file to `size` and syncs it: durable on return.
  virtual Status TruncateFile(const std::string& path, uint64_t size) = 0;
  // Makes the creation, deletion and renaming of entries in `path` durable.
  virtual Status SyncDir(const std::string& path) = 0;
  // Wall clock, nanoseconds since the Unix epoch.
  virtual uint64_t NowNanos() = 0;
};

// The Status for a failed system call: "<context>: <strerror(err)>" with a
// code from the errno (ENOSPC/EDQUOT -> RESOURCE_EXHAUSTED, EIO -> DATA_LOSS,
// ENOENT -> NOT_FOUND, EEXIST -> ALREADY_EXISTS, EACCES/EPERM/EROFS ->
// PERMISSION_DENIED, others UNKNOWN). `context` names the path and the
// operation, e.g. "/data/wal/00000001: write".
Status PosixError(std::string_view context, int err);

// The directory part of a path ("a/b" -> "a", "b" -> ".", "/b" -> "/").
std::string DirName(std::string_view path);
// path + "/" + name, without doubling a trailing slash.
std::string JoinPath(std::string_view dir, std::string_view name);

// An Env in memory, for tests. Directories must exist before files are created
// in them, as on disk. Crash simulation: every file remembers how much of it
// was synced, and every entry whether its name was made durable (SyncDir of
// its directory, or WriteFileAtomic). DropUnsyncedData() then does what a
// power loss does: files whose names were never synced vanish, the others lose
// whatever was appended after their last Sync. (A rename that was not synced
// is not undone; the file just counts as unsynced under its new name.)
// TruncateFile counts as synced. Thread-safe.
class MemEnv : public Env {
 public:
  MemEnv();
  ~MemEnv() override;

  StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override;
  StatusOr<std::unique_ptr<WritableFile>> NewAppendableFile(const std::string& path) override;
  StatusOr<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(const std::string& path) override;
  Status RenameFile(const std::string& from, const std::string& to) override;
  Status DeleteFile(const std::string& path) override;
  Status CreateDirs(const std::string& path) override;
  Status DeleteDirRecursive(const std::string& path) override;
  StatusOr<std::vector<std::string>> ListDir(const std::string& path) override;
  bool FileExists(const std::string& path) override;
  StatusOr<uint64_t> FileSize(const std::string& path) override;
  Status TruncateFile(const std::string& path, uint64_t size) override;
  Status SyncDir(const std::string& path) override;
  uint64_t NowNanos() override;

  // Simulates a crash (see above). Open file handles stay usable.
  void DropUnsyncedData();
  // Fixes the clock; 0 (the default) means the real wall clock.
  void SetNowNanos(uint64_t nanos);

  struct State;  // shared with open files

 private:
  std::shared_ptr<State> state_;
};

// Wraps another Env (not owned) and injects faults on demand. Faults are
// consumed in the order they were added; each can be limited to paths that
// contain a substring. Injected errors look like real ones (PosixError with
// the given errno; the message says "(injected)"). Operations that are not
// made to fail are forwarded unchanged. Thread-safe.
class FaultEnv : public Env {
 public:
  enum class Op { kOpen, kAppend, kSync, kSyncDir, kRename, kDelete, kTruncate, kRead };

  explicit FaultEnv(Env* base);
  ~FaultEnv() override;

  // The next `count` calls of `op` on matching paths fail with `err` (ENOSPC
  // gives RESOURCE_EXHAUSTED, EIO DATA_LOSS) without doing anything.
  void FailNext(Op op, int count, int err, std::string path_substr = "");
  // The next `count` appends on matching paths write only the first
  // `keep_bytes` bytes (fewer if the data is shorter) and then fail with `err`:
  // a torn write.
  void ShortNextAppends(int count, size_t keep_bytes, int err, std::string path_substr = "");
  // Once `total_bytes` have been appended (counted from now, over all matching
  // files), every append writes only what still fits and fails with `err`,
  // like a full disk, until ClearFaults.
  void FailAfterBytes(uint64_t total_bytes, int err, std::string path_substr = "");
  // Every WritableFile::Sync sleeps this long first (a slow disk).
  void SetSyncDelay(std::chrono::microseconds delay);
  // Removes every pending fault and the byte budget (not the sync delay).
  void ClearFaults();

  struct Counters {
    uint64_t opens = 0;  // NewWritableFile, NewAppendableFile, NewRandomAccessFile
    uint64_t appends = 0;
    uint64_t bytes_appended = 0;  // bytes that reached the base Env
    uint64_t syncs = 0;           // WritableFile::Sync
    uint64_t sync_dirs = 0;
    uint64_t renames = 0;
    uint64_t deletes = 0;  // DeleteFile and DeleteDirRecursive
    uint64_t truncates = 0;
    uint64_t reads = 0;   // RandomAccessFile::Read
    uint64_t faults = 0;  // injected failures
  };
  Counters counters() const;

  StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override;
  StatusOr<std::unique_ptr<WritableFile>> NewAppendableFile(const std::string& path) override;
  StatusOr<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(const std::string& path) override;
  Status RenameFile(const std::string& from, const std::string& to) override;
  Status DeleteFile(const std::string& path) override;
  Status CreateDirs(const std::string& path) override;
  Status DeleteDirRecursive(const std::string& path) override;
  StatusOr<std::vector<std::string>> ListDir(const std::string& path) override;
  bool FileExists(const std::string& path) override;
  StatusOr<uint64_t> FileSize(const std::string& path) override;
  Status TruncateFile(const std::string& path, uint64_t size) override;
  Status SyncDir(const std::string& path) override;
  uint64_t NowNanos() override;

 private:
  friend class FaultWritableFile;
  friend class FaultRandomAccessFile;
  struct Fault {
    Op op;
    int remaining;
    int err;
    std::string path_substr;
    bool short_write = false;
    size_t keep_bytes = 0;
  };
  // Counts the call; returns the injected error for it, or OK.
  Status Check(Op op, const std::string& path, std::string_view what);
  // For appends: how many of `n` bytes to pass on, and the error to return after.
  Status CheckAppend(const std::string& path, size_t n, size_t* keep);
  void CountSync(bool dir);
  void CountBytes(size_t n);
  std::chrono::microseconds SyncDelay() const;

  Env* base_;
  mutable std::mutex mu_;
  std::vector<Fault> faults_;
  bool byte_budget_active_ = false;
  uint64_t byte_budget_ = 0;
  int byte_budget_err_ = 0;
  std::string byte_budget_substr_;
  std::chrono::microseconds sync_delay_{0};
  Counters counters_;
};

}  // namespace stackhouse

#endif  // STACKHOUSE_BASE_ENV_H_
