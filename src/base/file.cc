#include "base/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/strings.h"

namespace stackhouse {

static Status ErrnoError(std::string_view what, const std::string& path, int err) {
  std::string msg = StrCat(path, ": ", what, ": ", std::strerror(err));
  if (err == ENOENT) return NotFoundError(std::move(msg));
  if (err == EACCES || err == EPERM) return PermissionDeniedError(std::move(msg));
  if (err == ENOSPC) return ResourceExhaustedError(std::move(msg));
  return Status(StatusCode::kUnknown, std::move(msg));
}

StatusOr<std::string> ReadFile(const std::string& path, size_t max_bytes) {
  int fd = path == "-" ? STDIN_FILENO : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("cannot open", path, errno);
  std::string data;
  struct stat st;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
    if (static_cast<uint64_t>(st.st_size) > max_bytes) {
      if (fd != STDIN_FILENO) ::close(fd);
      return ResourceExhaustedError(
          StrCat(path, ": file is ", st.st_size, " bytes, over the limit of ", max_bytes));
    }
    data.reserve(static_cast<size_t>(st.st_size));
  } else if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    if (fd != STDIN_FILENO) ::close(fd);
    return InvalidArgumentError(StrCat(path, ": is a directory"));
  }
  constexpr size_t kChunk = 1 << 20;
  while (true) {
    size_t old = data.size();
    if (old >= max_bytes + 1) break;
    size_t want = std::min(kChunk, max_bytes + 1 - old);
    data.resize(old + want);
    ssize_t n = ::read(fd, data.data() + old, want);
    if (n < 0) {
      if (errno == EINTR) {
        data.resize(old);
        continue;
      }
      int err = errno;
      if (fd != STDIN_FILENO) ::close(fd);
      return ErrnoError("read failed", path, err);
    }
    data.resize(old + static_cast<size_t>(n));
    if (n == 0) break;
  }
  if (fd != STDIN_FILENO) ::close(fd);
  if (data.size() > max_bytes) {
    return ResourceExhaustedError(
        StrCat(path, ": input is over the limit of ", max_bytes, " bytes"));
  }
  return data;
}

static Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("write failed", path, errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return OkStatus();
}

Status WriteFile(const std::string& path, std::string_view data) {
  SH_ASSIGN_OR_RETURN(FileWriter w, FileWriter::Open(path));
  SH_RETURN_IF_ERROR(w.Append(data));
  return w.Commit();
}

StatusOr<FileWriter> FileWriter::Open(const std::string& path) {
  if (path == "-") return FileWriter(path, "", STDOUT_FILENO);
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError("cannot create", tmp, errno);
  return FileWriter(path, tmp, fd);
}

FileWriter::FileWriter(FileWriter&& other) noexcept
    : path_(std::move(other.path_)), tmp_(std::move(other.tmp_)), fd_(other.fd_), done_(other.done_) {
  other.done_ = true;
}

FileWriter::~FileWriter() {
  if (done_ || tmp_.empty()) return;
  ::close(fd_);
  ::unlink(tmp_.c_str());
}

Status FileWriter::Append(std::string_view data) {
  if (done_) return FailedPreconditionError(StrCat(path_, ": already written"));
  return WriteAll(fd_, data, tmp_.empty() ? "<stdout>" : tmp_);
}

Status FileWriter::Commit() {
  if (done_) return FailedPreconditionError(StrCat(path_, ": already written"));
  if (tmp_.empty()) {
    done_ = true;
    return OkStatus();
  }
  Status s;
  if (::close(fd_) != 0) s = ErrnoError("close failed", tmp_, errno);
  done_ = true;
  if (s.ok() && ::rename(tmp_.c_str(), path_.c_str()) != 0) s = ErrnoError("rename failed", path_, errno);
  if (!s.ok()) ::unlink(tmp_.c_str());
  return s;
}

}  // namespace stackhouse
