// Whole-file reading and writing for tools. "-" means stdin / stdout.
//
// Reads enforce a size limit so that a huge or endless input gives a clear
// error instead of exhausting memory. Thread-compatible.
#ifndef STACKHOUSE_BASE_FILE_H_
#define STACKHOUSE_BASE_FILE_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

#include "base/status.h"

namespace stackhouse {

inline constexpr size_t kDefaultMaxFileBytes = size_t{4} << 30;  // 4 GiB

// Reads a whole file (or stdin for "-"). Errors name the path.
StatusOr<std::string> ReadFile(const std::string& path, size_t max_bytes = kDefaultMaxFileBytes);

// Writes `data` to `path` (or stdout for "-"), replacing the file atomically
// through a temporary file in the same directory.
Status WriteFile(const std::string& path, std::string_view data);

// Writes a file in pieces, with WriteFile's atomic replacement: the pieces go
// to a temporary file that Commit() renames over `path` ("-": stdout, written
// as they come). Destroying it uncommitted removes the temporary file.
class FileWriter {
 public:
  static StatusOr<FileWriter> Open(const std::string& path);
  FileWriter(FileWriter&& other) noexcept;
  FileWriter& operator=(FileWriter&&) = delete;
  ~FileWriter();

  Status Append(std::string_view data);
  Status Commit();

 private:
  FileWriter(std::string path, std::string tmp, int fd)
      : path_(std::move(path)), tmp_(std::move(tmp)), fd_(fd) {}
  std::string path_, tmp_;
  int fd_;
  bool done_ = false;
};

}  // namespace stackhouse

#endif  // STACKHOUSE_BASE_FILE_H_
