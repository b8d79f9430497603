// FaultEnv: an Env wrapper that injects I/O faults on demand.
#include <algorithm>
#include <thread>

#include "base/env.h"
#include "base/strings.h"

namespace stackhouse {

class FaultWritableFile : public WritableFile {
 public:
  FaultWritableFile(FaultEnv* env, std::string path, std::unique_ptr<WritableFile> base)
      : env_(env), path_(std::move(path)), base_(std::move(base)) {}

  Status Append(std::string_view data) override {
    size_t keep = 0;
    Status injected = env_->CheckAppend(path_, data.size(), &keep);
    if (keep > 0) {
      SH_RETURN_IF_ERROR(base_->Append(data.substr(0, keep)));
      env_->CountBytes(keep);
    }
    return injected;
  }

  Status Sync() override {
    std::chrono::microseconds delay = env_->SyncDelay();
    if (delay.count() > 0) std::this_thread::sleep_for(delay);
    SH_RETURN_IF_ERROR(env_->Check(FaultEnv::Op::kSync, path_, "fdatasync"));
    return base_->Sync();
  }

  Status Close() override { return base_->Close(); }
  uint64_t Size() const override { return base_->Size(); }

 private:
  FaultEnv* env_;
  std::string path_;
  std::unique_ptr<WritableFile> base_;
};

class FaultRandomAccessFile : public RandomAccessFile {
 public:
  FaultRandomAccessFile(FaultEnv* env, std::string path, std::unique_ptr<RandomAccessFile> base)
      : env_(env), path_(std::move(path)), base_(std::move(base)) {}

  Status Read(uint64_t offset, size_t n, std::string* out) const override {
    Status s = env_->Check(FaultEnv::Op::kRead, path_, StrCat("read at offset ", offset));
    if (!s.ok()) {
      out->clear();
      return s;
    }
    return base_->Read(offset, n, out);
  }
  uint64_t Size() const override { return base_->Size(); }

 private:
  FaultEnv* env_;
  std::string path_;
  std::unique_ptr<RandomAccessFile> base_;
};

FaultEnv::FaultEnv(Env* base) : base_(base) {}
FaultEnv::~FaultEnv() = default;

void FaultEnv::FailNext(Op op, int count, int err, std::string path_substr) {
  std::lock_guard<std::mutex> l(mu_);
  faults_.push_back(Fault{op, count, err, std::move(path_substr)});
}

void FaultEnv::ShortNextAppends(int count, size_t keep_bytes, int err, std::string path_substr) {
  std::lock_guard<std::mutex> l(mu_);
  faults_.push_back(Fault{Op::kAppend, count, err, std::move(path_substr), true, keep_bytes});
}

void FaultEnv::FailAfterBytes(uint64_t total_bytes, int err, std::string path_substr) {
  std::lock_guard<std::mutex> l(mu_);
  byte_budget_active_ = true;
  byte_budget_ = total_bytes;
  byte_budget_err_ = err;
  byte_budget_substr_ = std::move(path_substr);
}

void FaultEnv::SetSyncDelay(std::chrono::microseconds delay) {
  std::lock_guard<std::mutex> l(mu_);
  sync_delay_ = delay;
}

void FaultEnv::ClearFaults() {
  std::lock_guard<std::mutex> l(mu_);
  faults_.clear();
  byte_budget_active_ = false;
}

FaultEnv::Counters FaultEnv::counters() const {
  std::lock_guard<std::mutex> l(mu_);
  return counters_;
}

std::chrono::microseconds FaultEnv::SyncDelay() const {
  std::lock_guard<std::mutex> l(mu_);
  return sync_delay_;
}

void FaultEnv::CountBytes(size_t n) {
  std::lock_guard<std::mutex> l(mu_);
  counters_.bytes_appended += n;
}

Status FaultEnv::Check(Op op, const std::string& path, std::string_view what) {
  std::lock_guard<std::mutex> l(mu_);
  switch (op) {
    case Op::kOpen:
      ++counters_.opens;
      break;
    case Op::kAppend:
      ++counters_.appends;
      break;
    case Op::kSync:
      ++counters_.syncs;
      break;
    case Op::kSyncDir:
      ++counters_.sync_dirs;
      break;
    case Op::kRename:
      ++counters_.renames;
      break;
    case Op::kDelete:
      ++counters_.deletes;
      break;
    case Op::kTruncate:
      ++counters_.truncates;
      break;
    case Op::kRead:
      ++counters_.reads;
      break;
  }
  for (auto it = faults_.begin(); it != faults_.end(); ++it) {
    if (it->op != op || path.find(it->path_substr) == std::string::npos) continue;
    int err = it->err;
    if (--it->remaining <= 0) faults_.erase(it);
    ++counters_.faults;
    // For renames `path` is "from -> to"; the error names both.
    return PosixError(StrCat(path, ": ", what, " (injected)"), err);
  }
  return OkStatus();
}

Status FaultEnv::CheckAppend(const std::string& path, size_t n, size_t* keep) {
  std::lock_guard<std::mutex> l(mu_);
  ++counters_.appends;
  for (auto it = faults_.begin(); it != faults_.end(); ++it) {
    if (it->op != Op::kAppend || path.find(it->path_substr) == std::string::npos) continue;
    int err = it->err;
    *keep = it->short_write ? std::min(it->keep_bytes, n) : 0;
    if (--it->remaining <= 0) faults_.erase(it);
    ++counters_.faults;
    std::string what = *keep > 0 ? StrCat("short write, ", *keep, " of ", n, " bytes written")
                                 : StrCat("write of ", n, " bytes");
    return PosixError(StrCat(path, ": ", what, " (injected)"), err);
  }
  *keep = n;
  if (byte_budget_active_ && path.find(byte_budget_substr_) != std::string::npos) {
    if (n <= byte_budget_) {
      byte_budget_ -= n;
      return OkStatus();
    }
    *keep = static_cast<size_t>(byte_budget_);
    byte_budget_ = 0;
    ++counters_.faults;
    return PosixError(StrCat(path, ": write of ", n, " bytes (", *keep,
                             " written, byte budget exhausted) (injected)"),
                      byte_budget_err_);
  }
  return OkStatus();
}

StatusOr<std::unique_ptr<WritableFile>> FaultEnv::NewWritableFile(const std::string& path) {
  SH_RETURN_IF_ERROR(Check(Op::kOpen, path, "create"));
  SH_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> f, base_->NewWritableFile(path));
  return std::unique_ptr<WritableFile>(new FaultWritableFile(this, path, std::move(f)));
}

StatusOr<std::unique_ptr<WritableFile>> FaultEnv::NewAppendableFile(const std::string& path) {
  SH_RETURN_IF_ERROR(Check(Op::kOpen, path, "open for appending"));
  SH_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> f, base_->NewAppendableFile(path));
  return std::unique_ptr<WritableFile>(new FaultWritableFile(this, path, std::move(f)));
}

StatusOr<std::unique_ptr<RandomAccessFile>> FaultEnv::NewRandomAccessFile(const std::string& path) {
  SH_RETURN_IF_ERROR(Check(Op::kOpen, path, "open"));
  SH_ASSIGN_OR_RETURN(std::unique_ptr<RandomAccessFile> f, base_->NewRandomAccessFile(path));
  return std::unique_ptr<RandomAccessFile>(new FaultRandomAccessFile(this, path, std::move(f)));
}

Status FaultEnv::RenameFile(const std::string& from, const std::string& to) {
  SH_RETURN_IF_ERROR(Check(Op::kRename, StrCat(from, " -> ", to), "rename"));
  return base_->RenameFile(from, to);
}

Status FaultEnv::DeleteFile(const std::string& path) {
  SH_RETURN_IF_ERROR(Check(Op::kDelete, path, "delete"));
  return base_->DeleteFile(path);
}

Status FaultEnv::CreateDirs(const std::string& path) { return base_->CreateDirs(path); }

Status FaultEnv::DeleteDirRecursive(const std::string& path) {
  SH_RETURN_IF_ERROR(Check(Op::kDelete, path, "delete directory"));
  return base_->DeleteDirRecursive(path);
}

StatusOr<std::vector<std::string>> FaultEnv::ListDir(const std::string& path) {
  return base_->ListDir(path);
}

bool FaultEnv::FileExists(const std::string& path) { return base_->FileExists(path); }

StatusOr<uint64_t> FaultEnv::FileSize(const std::string& path) { return base_->FileSize(path); }

Status FaultEnv::TruncateFile(const std::string& path, uint64_t size) {
  SH_RETURN_IF_ERROR(Check(Op::kTruncate, path, StrCat("truncate to ", size, " bytes")));
  return base_->TruncateFile(path, size);
}

Status FaultEnv::SyncDir(const std::string& path) {
  SH_RETURN_IF_ERROR(Check(Op::kSyncDir, path, "fsync directory"));
  return base_->SyncDir(path);
}

uint64_t FaultEnv::NowNanos() { return base_->NowNanos(); }

}  // namespace stackhouse
