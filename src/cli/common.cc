#include "cli/common.h"

#include <cstdio>

#include "base/file.h"
#include "base/strings.h"
#include "profile/labels.h"

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

StatusOr<std::vector<profile::LabelPair>> ParseLabelList(const std::string& text) {
  std::vector<profile::LabelPair> out;
  if (TrimSpace(text).empty()) return out;
  for (std::string_view item : Split(text, ',')) {
    size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      return InvalidArgumentError(StrCat("--labels: ", Quote(item), " is not k=v"));
    }
    std::string name(TrimSpace(item.substr(0, eq)));
    if (!profile::IsValidLabelName(name)) {
      return InvalidArgumentError(StrCat("--labels: bad label name ", Quote(name)));
    }
    out.push_back({name, std::string(TrimSpace(item.substr(eq + 1)))});
  }
  return out;
}


}  // namespace stackhouse::cli
