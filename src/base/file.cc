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
  if (path == "-") return WriteAll(STDOUT_FILENO, data, "<stdout>");
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError("cannot create", tmp, errno);
  Status s = WriteAll(fd, data, tmp);
  if (::close(fd) != 0 && s.ok()) s = ErrnoError("close failed", tmp, errno);
  if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) s = ErrnoError("rename failed", path, errno);
  if (!s.ok()) ::unlink(tmp.c_str());
  return s;
}

}  // namespace stackhouse
