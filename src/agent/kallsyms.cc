#include "agent/kallsyms.h"

#include <algorithm>
#include <numeric>

#include "base/file.h"
#include "base/strings.h"

namespace stackhouse::agent {

StatusOr<Kallsyms> Kallsyms::Parse(std::string_view text) {
  struct Entry {
    uint64_t addr;
    uint32_t name;
  };
  Kallsyms k;
  std::vector<Entry> entries;
  size_t line_no = 0;
  for (std::string_view line : Split(text, '\n')) {
    line_no++;
    if (line.empty()) continue;
    std::vector<std::string_view> f = Split(line, ' ');
    if (f.size() < 3) return InvalidArgumentError(StrCat("kallsyms line ", line_no, ": ", Quote(line)));
    auto addr = ParseUint64(f[0], 16);
    if (!addr) return InvalidArgumentError(StrCat("kallsyms line ", line_no, ": bad address ", Quote(f[0])));
    char type = f[1].empty() ? '?' : f[1][0];
    // Functions (text) only: t/T, and w/W weak symbols in text.
    if (type != 't' && type != 'T' && type != 'w' && type != 'W') continue;
    if (*addr == 0) continue;
    std::string_view name = f[2];
    size_t tab = name.find('\t');
    if (tab != std::string_view::npos) name = name.substr(0, tab);
    entries.push_back({*addr, static_cast<uint32_t>(k.text_.size())});
    k.text_.append(name);
    k.text_.push_back('\0');
  }
  if (entries.empty()) {
    return PermissionDeniedError("/proc/kallsyms shows no addresses (the agent must run as root)");
  }
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.addr < b.addr; });
  for (const Entry& e : entries) {
    k.addrs_.push_back(e.addr);
    k.names_.push_back(e.name);
  }
  return k;
}

StatusOr<Kallsyms> Kallsyms::Load(const std::string& path) {
  SH_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  auto k = Parse(text);
  if (!k.ok()) return k.status().WithPrefix(path);
  return k;
}

std::string_view Kallsyms::Lookup(uint64_t addr) const {
  auto it = std::upper_bound(addrs_.begin(), addrs_.end(), addr);
  if (it == addrs_.begin()) return {};
  size_t i = static_cast<size_t>(it - addrs_.begin()) - 1;
  return std::string_view(text_.data() + names_[i]);
}

}  // namespace stackhouse::agent
