// MemEnv: an in-memory Env with crash simulation, for tests.
#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include "base/env.h"
#include "base/strings.h"

namespace stackhouse {

struct MemEnv::State {
  struct File {
    std::string data;
    uint64_t synced = 0;       // bytes that survive DropUnsyncedData
    bool name_synced = false;  // the directory entry survives DropUnsyncedData
  };
  std::mutex mu;
  std::map<std::string, std::shared_ptr<File>> files;  // normalized path -> file
  std::set<std::string> dirs;                          // normalized; "." and "/" implicit
  uint64_t now = 0;

  bool DirExists(const std::string& p) const { return p == "." || p == "/" || dirs.count(p) > 0; }
};

namespace {

using File = MemEnv::State::File;

// Collapses "//", drops "." components and trailing slashes; "" becomes ".".
// ".." is kept as a plain name.
std::string Normalize(std::string_view path) {
  bool absolute = !path.empty() && path[0] == '/';
  std::string out = absolute ? "/" : "";
  for (std::string_view part : Split(path, '/')) {
    if (part.empty() || part == ".") continue;
    if (!out.empty() && out.back() != '/') out += '/';
    out += part;
  }
  if (out.empty()) out = ".";
  return out;
}

// Whether `p` lies strictly inside directory `dir` (both normalized).
bool IsUnder(const std::string& dir, const std::string& p) {
  if (dir == ".") return p[0] != '/' && p != ".";
  if (dir == "/") return p[0] == '/' && p != "/";
  return p.size() > dir.size() + 1 && p.compare(0, dir.size(), dir) == 0 && p[dir.size()] == '/';
}

std::string BaseName(const std::string& p) {
  size_t slash = p.rfind('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

class MemWritableFile : public WritableFile {
 public:
  MemWritableFile(std::shared_ptr<MemEnv::State> state, std::shared_ptr<File> file,
                  std::string path)
      : state_(std::move(state)), file_(std::move(file)), path_(std::move(path)) {}

  Status Append(std::string_view data) override {
    if (closed_) return FailedPreconditionError(StrCat(path_, ": append after close"));
    std::lock_guard<std::mutex> l(state_->mu);
    file_->data.append(data);
    return OkStatus();
  }
  Status Sync() override {
    if (closed_) return FailedPreconditionError(StrCat(path_, ": sync after close"));
    std::lock_guard<std::mutex> l(state_->mu);
    file_->synced = file_->data.size();
    return OkStatus();
  }
  Status Close() override {
    closed_ = true;
    return OkStatus();
  }
  uint64_t Size() const override {
    std::lock_guard<std::mutex> l(state_->mu);
    return file_->data.size();
  }

 private:
  std::shared_ptr<MemEnv::State> state_;
  std::shared_ptr<File> file_;
  std::string path_;
  bool closed_ = false;
};

class MemRandomAccessFile : public RandomAccessFile {
 public:
  MemRandomAccessFile(std::shared_ptr<MemEnv::State> state, std::shared_ptr<File> file,
                      std::string path, uint64_t size)
      : state_(std::move(state)), file_(std::move(file)), path_(std::move(path)), size_(size) {}

  Status Read(uint64_t offset, size_t n, std::string* out) const override {
    std::lock_guard<std::mutex> l(state_->mu);
    const std::string& d = file_->data;
    if (offset > d.size() || n > d.size() - offset) {
      out->clear();
      return OutOfRangeError(StrCat(path_, ": read of ", n, " bytes at offset ", offset,
                                    ": the file ends after ", d.size(), " bytes"));
    }
    out->assign(d, offset, n);
    return OkStatus();
  }
  uint64_t Size() const override { return size_; }

 private:
  std::shared_ptr<MemEnv::State> state_;
  std::shared_ptr<File> file_;
  std::string path_;
  uint64_t size_;
};

Status NoDir(const std::string& path) { return NotFoundError(StrCat(path, ": no such directory")); }
Status NoFile(const std::string& path, std::string_view what) {
  return NotFoundError(StrCat(path, ": ", what, ": no such file"));
}

}  // namespace

MemEnv::MemEnv() : state_(std::make_shared<State>()) {}
MemEnv::~MemEnv() = default;

StatusOr<std::unique_ptr<WritableFile>> MemEnv::NewWritableFile(const std::string& path) {
  std::string p = Normalize(path);
  std::lock_guard<std::mutex> l(state_->mu);
  if (state_->DirExists(p)) return FailedPreconditionError(StrCat(path, ": is a directory"));
  if (!state_->DirExists(DirName(p))) return NoDir(DirName(p));
  std::shared_ptr<File>& f = state_->files[p];
  if (f == nullptr) f = std::make_shared<File>();
  f->data.clear();
  f->synced = 0;
  return std::unique_ptr<WritableFile>(new MemWritableFile(state_, f, path));
}

StatusOr<std::unique_ptr<WritableFile>> MemEnv::NewAppendableFile(const std::string& path) {
  std::string p = Normalize(path);
  std::lock_guard<std::mutex> l(state_->mu);
  if (state_->DirExists(p)) return FailedPreconditionError(StrCat(path, ": is a directory"));
  if (!state_->DirExists(DirName(p))) return NoDir(DirName(p));
  std::shared_ptr<File>& f = state_->files[p];
  if (f == nullptr) f = std::make_shared<File>();
  return std::unique_ptr<WritableFile>(new MemWritableFile(state_, f, path));
}

StatusOr<std::unique_ptr<RandomAccessFile>> MemEnv::NewRandomAccessFile(const std::string& path) {
  std::string p = Normalize(path);
  std::lock_guard<std::mutex> l(state_->mu);
  auto it = state_->files.find(p);
  if (it == state_->files.end()) {
    if (state_->DirExists(p)) return FailedPreconditionError(StrCat(path, ": is a directory"));
    return NoFile(path, "open");
  }
  return std::unique_ptr<RandomAccessFile>(
      new MemRandomAccessFile(state_, it->second, path, it->second->data.size()));
}

Status MemEnv::RenameFile(const std::string& from, const std::string& to) {
  std::string f = Normalize(from), t = Normalize(to);
  std::lock_guard<std::mutex> l(state_->mu);
  auto it = state_->files.find(f);
  if (it == state_->files.end()) {
    if (state_->DirExists(f) && f != "." && f != "/") {
      // A directory: move it and everything below it, as rename(2) does
      // (the target must not exist).
      if (state_->DirExists(t) || state_->files.count(t)) {
        return AlreadyExistsError(StrCat(to, ": exists"));
      }
      if (!state_->DirExists(DirName(t))) return NoDir(DirName(t));
      if (t.rfind(f + "/", 0) == 0) {
        return InvalidArgumentError(StrCat(to, ": inside ", from));
      }
      std::string prefix = f + "/";
      std::vector<std::string> dirs = {f};
      for (const std::string& d : state_->dirs) {
        if (d.rfind(prefix, 0) == 0) dirs.push_back(d);
      }
      for (const std::string& d : dirs) {
        state_->dirs.erase(d);
        state_->dirs.insert(t + d.substr(f.size()));
      }
      std::vector<std::string> files;
      for (const auto& [name, file] : state_->files) {
        if (name.rfind(prefix, 0) == 0) files.push_back(name);
      }
      for (const std::string& name : files) {
        auto node = state_->files.extract(name);
        node.key() = t + name.substr(f.size());
        state_->files.insert(std::move(node));
      }
      return OkStatus();
    }
    return NoFile(from, StrCat("rename to ", to));
  }
  if (state_->DirExists(t)) return FailedPreconditionError(StrCat(to, ": is a directory"));
  if (!state_->DirExists(DirName(t))) return NoDir(DirName(t));
  if (f == t) return OkStatus();
  std::shared_ptr<File> file = it->second;
  state_->files.erase(it);
  file->name_synced = false;
  state_->files[t] = std::move(file);
  return OkStatus();
}

Status MemEnv::DeleteFile(const std::string& path) {
  std::lock_guard<std::mutex> l(state_->mu);
  if (state_->files.erase(Normalize(path)) == 0) return NoFile(path, "delete");
  return OkStatus();
}

Status MemEnv::CreateDirs(const std::string& path) {
  if (path.empty()) return InvalidArgumentError("CreateDirs: empty path");
  std::string p = Normalize(path);
  std::lock_guard<std::mutex> l(state_->mu);
  std::vector<std::string> chain;
  for (std::string d = p; !state_->DirExists(d); d = DirName(d)) chain.push_back(d);
  for (const std::string& d : chain) {
    if (state_->files.count(d)) {
      return FailedPreconditionError(StrCat(d, ": exists and is not a directory"));
    }
  }
  for (const std::string& d : chain) state_->dirs.insert(d);
  return OkStatus();
}

Status MemEnv::DeleteDirRecursive(const std::string& path) {
  std::string p = Normalize(path);
  std::lock_guard<std::mutex> l(state_->mu);
  if (state_->files.erase(p) > 0) return OkStatus();
  if (!state_->DirExists(p)) return OkStatus();
  std::erase_if(state_->files, [&](const auto& kv) { return IsUnder(p, kv.first); });
  std::erase_if(state_->dirs, [&](const std::string& d) { return d == p || IsUnder(p, d); });
  return OkStatus();
}

StatusOr<std::vector<std::string>> MemEnv::ListDir(const std::string& path) {
  std::string p = Normalize(path);
  std::lock_guard<std::mutex> l(state_->mu);
  if (!state_->DirExists(p)) {
    if (state_->files.count(p)) return FailedPreconditionError(StrCat(path, ": not a directory"));
    return NoDir(path);
  }
  std::vector<std::string> names;
  for (const auto& kv : state_->files) {
    if (DirName(kv.first) == p) names.push_back(BaseName(kv.first));
  }
  for (const std::string& d : state_->dirs) {
    if (d != p && DirName(d) == p) names.push_back(BaseName(d));
  }
  std::sort(names.begin(), names.end());
  return names;
}

bool MemEnv::FileExists(const std::string& path) {
  std::string p = Normalize(path);
  std::lock_guard<std::mutex> l(state_->mu);
  return state_->files.count(p) > 0 || state_->DirExists(p);
}

StatusOr<uint64_t> MemEnv::FileSize(const std::string& path) {
  std::lock_guard<std::mutex> l(state_->mu);
  auto it = state_->files.find(Normalize(path));
  if (it == state_->files.end()) return NoFile(path, "stat");
  return static_cast<uint64_t>(it->second->data.size());
}

Status MemEnv::TruncateFile(const std::string& path, uint64_t size) {
  std::lock_guard<std::mutex> l(state_->mu);
  auto it = state_->files.find(Normalize(path));
  if (it == state_->files.end()) return NoFile(path, "truncate");
  it->second->data.resize(size);
  it->second->synced = size;
  return OkStatus();
}

Status MemEnv::SyncDir(const std::string& path) {
  std::string p = Normalize(path);
  std::lock_guard<std::mutex> l(state_->mu);
  if (!state_->DirExists(p)) return NoDir(path);
  for (auto& kv : state_->files) {
    if (DirName(kv.first) == p) kv.second->name_synced = true;
  }
  return OkStatus();
}

uint64_t MemEnv::NowNanos() {
  {
    std::lock_guard<std::mutex> l(state_->mu);
    if (state_->now != 0) return state_->now;
  }
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

void MemEnv::SetNowNanos(uint64_t nanos) {
  std::lock_guard<std::mutex> l(state_->mu);
  state_->now = nanos;
}

void MemEnv::DropUnsyncedData() {
  std::lock_guard<std::mutex> l(state_->mu);
  for (auto it = state_->files.begin(); it != state_->files.end();) {
    File& f = *it->second;
    if (!f.name_synced) {
      // Open handles keep writing into the orphan, like an unlinked file.
      it = state_->files.erase(it);
      continue;
    }
    f.data.resize(std::min<uint64_t>(f.synced, f.data.size()));
    ++it;
  }
}

}  // namespace stackhouse
