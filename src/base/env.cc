// Env base class, path helpers and the POSIX Env.
#include "base/env.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "base/strings.h"

namespace stackhouse {

WritableFile::~WritableFile() = default;
RandomAccessFile::~RandomAccessFile() = default;
Env::~Env() = default;

Status PosixError(std::string_view context, int err) {
  std::string msg = StrCat(context, ": ", std::strerror(err));
  switch (err) {
    case ENOSPC:
    case EDQUOT:
      return ResourceExhaustedError(std::move(msg));
    case EIO:
      return DataLossError(std::move(msg));
    case ENOENT:
      return NotFoundError(std::move(msg));
    case EEXIST:
      return AlreadyExistsError(std::move(msg));
    case EACCES:
    case EPERM:
    case EROFS:
      return PermissionDeniedError(std::move(msg));
    default:
      return Status(StatusCode::kUnknown, std::move(msg));
  }
}

std::string DirName(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  while (slash > 0 && path[slash - 1] == '/') --slash;
  if (slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

std::string JoinPath(std::string_view dir, std::string_view name) {
  if (dir.empty()) return std::string(name);
  if (dir.back() == '/') return StrCat(dir, name);
  return StrCat(dir, "/", name);
}

StatusOr<std::string> Env::ReadFile(const std::string& path) {
  SH_ASSIGN_OR_RETURN(std::unique_ptr<RandomAccessFile> f, NewRandomAccessFile(path));
  std::string data;
  SH_RETURN_IF_ERROR(f->Read(0, f->Size(), &data));
  return data;
}

Status Env::WriteFileAtomic(const std::string& path, std::string_view data) {
  static std::atomic<uint64_t> counter{0};
  std::string tmp = StrCat(path, ".tmp.", ::getpid(), ".", counter.fetch_add(1));
  Status s = [&]() -> Status {
    SH_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> f, NewWritableFile(tmp));
    SH_RETURN_IF_ERROR(f->Append(data));
    SH_RETURN_IF_ERROR(f->Sync());
    SH_RETURN_IF_ERROR(f->Close());
    SH_RETURN_IF_ERROR(RenameFile(tmp, path));
    return SyncDir(DirName(path));
  }();
  if (!s.ok() && FileExists(tmp)) (void)DeleteFile(tmp);
  return s;
}

namespace {

class PosixWritableFile : public WritableFile {
 public:
  PosixWritableFile(std::string path, int fd, uint64_t size)
      : path_(std::move(path)), fd_(fd), size_(size) {}
  ~PosixWritableFile() override {
    if (fd_ >= 0) ::close(fd_);
  }

  Status Append(std::string_view data) override {
    if (fd_ < 0) return FailedPreconditionError(StrCat(path_, ": append after close"));
    while (!data.empty()) {
      ssize_t n = ::write(fd_, data.data(), data.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return PosixError(StrCat(path_, ": write at offset ", size_), errno);
      }
      size_ += static_cast<uint64_t>(n);
      data.remove_prefix(static_cast<size_t>(n));
    }
    return OkStatus();
  }

  Status Sync() override {
    if (fd_ < 0) return FailedPreconditionError(StrCat(path_, ": sync after close"));
    while (::fdatasync(fd_) != 0) {
      if (errno != EINTR) return PosixError(StrCat(path_, ": fdatasync"), errno);
    }
    return OkStatus();
  }

  Status Close() override {
    if (fd_ < 0) return OkStatus();
    int fd = fd_;
    fd_ = -1;
    // close(2) must not be retried on EINTR: the descriptor is gone either way.
    if (::close(fd) != 0 && errno != EINTR) return PosixError(StrCat(path_, ": close"), errno);
    return OkStatus();
  }

  uint64_t Size() const override { return size_; }

 private:
  std::string path_;
  int fd_;
  uint64_t size_;
};

class PosixRandomAccessFile : public RandomAccessFile {
 public:
  PosixRandomAccessFile(std::string path, int fd, uint64_t size)
      : path_(std::move(path)), fd_(fd), size_(size) {}
  ~PosixRandomAccessFile() override { ::close(fd_); }

  Status Read(uint64_t offset, size_t n, std::string* out) const override {
    out->resize(n);
    size_t done = 0;
    while (done < n) {
      ssize_t r = ::pread(fd_, out->data() + done, n - done, static_cast<off_t>(offset + done));
      if (r < 0) {
        if (errno == EINTR) continue;
        int err = errno;
        out->clear();
        return PosixError(StrCat(path_, ": read of ", n, " bytes at offset ", offset), err);
      }
      if (r == 0) {
        out->clear();
        return OutOfRangeError(StrCat(path_, ": read of ", n, " bytes at offset ", offset,
                                      ": the file ends after ", offset + done, " bytes"));
      }
      done += static_cast<size_t>(r);
    }
    return OkStatus();
  }

  uint64_t Size() const override { return size_; }

 private:
  std::string path_;
  int fd_;
  uint64_t size_;
};

int OpenRetry(const char* path, int flags, mode_t mode = 0) {
  int fd;
  do {
    fd = ::open(path, flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  return fd;
}

Status FsyncPath(const std::string& path, int flags, std::string_view what) {
  int fd = OpenRetry(path.c_str(), flags);
  if (fd < 0) return PosixError(StrCat(path, ": open for ", what), errno);
  Status s;
  while (::fsync(fd) != 0) {
    if (errno != EINTR) {
      s = PosixError(StrCat(path, ": ", what), errno);
      break;
    }
  }
  ::close(fd);
  return s;
}

class PosixEnv : public Env {
 public:
  StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override {
    int fd = OpenRetry(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return PosixError(StrCat(path, ": create"), errno);
    return std::unique_ptr<WritableFile>(new PosixWritableFile(path, fd, 0));
  }

  StatusOr<std::unique_ptr<WritableFile>> NewAppendableFile(const std::string& path) override {
    int fd = OpenRetry(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0) return PosixError(StrCat(path, ": open for appending"), errno);
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      int err = errno;
      ::close(fd);
      return PosixError(StrCat(path, ": stat"), err);
    }
    return std::unique_ptr<WritableFile>(
        new PosixWritableFile(path, fd, static_cast<uint64_t>(st.st_size)));
  }

  StatusOr<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& path) override {
    int fd = OpenRetry(path.c_str(), O_RDONLY);
    if (fd < 0) return PosixError(StrCat(path, ": open"), errno);
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      int err = errno;
      ::close(fd);
      return PosixError(StrCat(path, ": stat"), err);
    }
    if (S_ISDIR(st.st_mode)) {
      ::close(fd);
      return FailedPreconditionError(StrCat(path, ": is a directory"));
    }
    return std::unique_ptr<RandomAccessFile>(
        new PosixRandomAccessFile(path, fd, static_cast<uint64_t>(st.st_size)));
  }

  Status RenameFile(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) {
      return PosixError(StrCat(from, ": rename to ", to), errno);
    }
    return OkStatus();
  }

  Status DeleteFile(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return PosixError(StrCat(path, ": delete"), errno);
    return OkStatus();
  }

  Status CreateDirs(const std::string& path) override {
    if (path.empty()) return InvalidArgumentError("CreateDirs: empty path");
    // Each prefix ending before a '/', then the whole path.
    for (size_t i = 1; i <= path.size(); ++i) {
      if (i < path.size() && path[i] != '/') continue;
      if (i < path.size() && path[i - 1] == '/') continue;  // "a//b"
      std::string prefix = path.substr(0, i);
      if (::mkdir(prefix.c_str(), 0755) == 0) continue;
      int err = errno;
      struct stat st;
      if (err == EEXIST && ::stat(prefix.c_str(), &st) == 0) {
        if (S_ISDIR(st.st_mode)) continue;
        return FailedPreconditionError(StrCat(prefix, ": exists and is not a directory"));
      }
      return PosixError(StrCat(prefix, ": mkdir"), err);
    }
    return OkStatus();
  }

  Status DeleteDirRecursive(const std::string& path) override {
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) {
      if (errno == ENOENT) return OkStatus();
      return PosixError(StrCat(path, ": stat"), errno);
    }
    if (!S_ISDIR(st.st_mode)) return DeleteFile(path);
    SH_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(path));
    for (const std::string& name : names)
      SH_RETURN_IF_ERROR(DeleteDirRecursive(JoinPath(path, name)));
    if (::rmdir(path.c_str()) != 0) return PosixError(StrCat(path, ": rmdir"), errno);
    return OkStatus();
  }

  StatusOr<std::vector<std::string>> ListDir(const std::string& path) override {
    DIR* d = ::opendir(path.c_str());
    if (d == nullptr) return PosixError(StrCat(path, ": list directory"), errno);
    std::vector<std::string> names;
    while (true) {
      errno = 0;
      dirent* e = ::readdir(d);
      if (e == nullptr) break;
      std::string_view name = e->d_name;
      if (name == "." || name == "..") continue;
      names.emplace_back(name);
    }
    int err = errno;
    ::closedir(d);
    if (err != 0) return PosixError(StrCat(path, ": read directory"), err);
    std::sort(names.begin(), names.end());
    return names;
  }

  bool FileExists(const std::string& path) override { return ::access(path.c_str(), F_OK) == 0; }

  StatusOr<uint64_t> FileSize(const std::string& path) override {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return PosixError(StrCat(path, ": stat"), errno);
    return static_cast<uint64_t>(st.st_size);
  }

  Status TruncateFile(const std::string& path, uint64_t size) override {
    int fd = OpenRetry(path.c_str(), O_WRONLY);
    if (fd < 0) return PosixError(StrCat(path, ": open for truncation"), errno);
    Status s;
    int rc;
    do {
      rc = ::ftruncate(fd, static_cast<off_t>(size));
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) {
      s = PosixError(StrCat(path, ": truncate to ", size, " bytes"), errno);
    } else {
      while (::fdatasync(fd) != 0) {
        if (errno != EINTR) {
          s = PosixError(StrCat(path, ": fdatasync after truncation"), errno);
          break;
        }
      }
    }
    ::close(fd);
    return s;
  }

  Status SyncDir(const std::string& path) override {
    return FsyncPath(path, O_RDONLY | O_DIRECTORY, "fsync directory");
  }

  uint64_t NowNanos() override {
    struct timespec ts;
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
  }
};

}  // namespace

Env* Env::Default() {
  static Env* env = new PosixEnv;
  return env;
}

}  // namespace stackhouse
