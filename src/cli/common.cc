#include "cli/common.h"

#include <cstdio>

#include "base/file.h"
#include "base/strings.h"

namespace stackhouse::cli {

StatusOr<profile::Profile> LoadProfile(const std::string& path, const std::string& from,
                                       const profile::ReadOptions& options) {
  std::optional<profile::Format> format;
  if (!from.empty()) {
    format = profile::ParseFormatName(from);
    if (!format || !profile::CanRead(*format)) {
      return InvalidArgumentError(StrCat("cannot read format ", Quote(from)));
    }
  }
  std::string name = path == "-" ? "<stdin>" : path;
  SH_ASSIGN_OR_RETURN(std::string data, ReadFile(path));
  auto p = profile::ReadProfile(data, format, options);
  if (!p.ok()) return p.status().WithPrefix(name);
  return p;
}

StatusOr<int> SampleTypeIndex(const profile::Profile& p, const std::string& name) {
  if (name.empty()) {
    int i = p.DefaultSampleTypeIndex();
    if (i < 0) return InvalidArgumentError("the profile has no sample types");
    return i;
  }
  int i = p.FindSampleType(name);
  if (i >= 0) return i;
  std::string available;
  for (const auto& vt : p.sample_types) {
    if (!available.empty()) available += ", ";
    available += p.str(vt.type);
  }
  return InvalidArgumentError(
      StrCat("no sample type ", Quote(name), " in the profile (it has: ", available, ")"));
}

int Fail(const char* cmd, const std::string& message, int code) {
  std::fprintf(stderr, "stackhouse %s: %s\n", cmd, message.c_str());
  return code;
}

}  // namespace stackhouse::cli
