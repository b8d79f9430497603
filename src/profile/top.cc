#include "profile/top.h"

#include <algorithm>
#include <cstdio>

#include "base/strings.h"
#include "profile/frames.h"

namespace stackhouse::profile {

TopTable ComputeTop(const Profile& p, int type_index, bool by_cum) {
  TopTable table;
  if (type_index < 0 || static_cast<size_t>(type_index) >= p.num_types()) return table;
  FrameNames names(p);
  std::vector<int64_t> flat(names.num_names(), 0), cum(names.num_names(), 0);
  std::vector<uint32_t> seen_in_sample(names.num_names(), UINT32_MAX);
  std::vector<bool> present(names.num_names(), false);
  for (size_t i = 0; i < p.samples.size(); ++i) {
    int64_t v = p.sample_values(i)[type_index];
    table.total += v;
    if (v == 0) continue;
    auto stack = p.sample_stack(i);
    if (stack.empty()) continue;
    uint32_t leaf = names.frames(stack[0])[0];
    flat[leaf] += v;
    present[leaf] = true;
    for (uint32_t loc : stack) {
      for (uint32_t f : names.frames(loc)) {
        if (seen_in_sample[f] == i) continue;
        seen_in_sample[f] = static_cast<uint32_t>(i);
        cum[f] += v;
        present[f] = true;
      }
    }
  }
  for (uint32_t f = 0; f < names.num_names(); ++f) {
    if (present[f]) table.entries.push_back({names.name(f), flat[f], cum[f]});
  }
  std::sort(table.entries.begin(), table.entries.end(), [by_cum](const TopEntry& a, const TopEntry& b) {
    int64_t ka = by_cum ? a.cum : a.flat, kb = by_cum ? b.cum : b.flat;
    if (ka != kb) return std::llabs(ka) > std::llabs(kb);
    int64_t sa = by_cum ? a.flat : a.cum, sb = by_cum ? b.flat : b.cum;
    if (sa != sb) return std::llabs(sa) > std::llabs(sb);
    return a.name < b.name;
  });
  return table;
}

static std::string Percent(int64_t v, int64_t total) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f%%", total == 0 ? 0.0 : 100.0 * v / total);
  return buf;
}

static void Pad(std::string* out, const std::string& s, size_t width) {
  if (s.size() < width) out->append(width - s.size(), ' ');
  out->append(s);
}

std::string FormatTop(const TopTable& table, std::string_view unit, size_t n) {
  std::string out;
  size_t rows = std::min(n, table.entries.size());
  int64_t shown = 0;
  for (size_t i = 0; i < rows; ++i) shown += table.entries[i].flat;
  out += StrCat("Showing nodes accounting for ", FormatValue(shown, unit), ", ",
                Percent(shown, table.total), " of ", FormatValue(table.total, unit), " total\n");
  if (rows < table.entries.size()) {
    out += StrCat("Showing top ", rows, " nodes out of ", table.entries.size(), "\n");
  }
  out += "        flat  flat%   sum%         cum   cum%\n";
  int64_t sum = 0;
  for (size_t i = 0; i < rows; ++i) {
    const TopEntry& e = table.entries[i];
    sum += e.flat;
    Pad(&out, FormatValue(e.flat, unit), 12);
    Pad(&out, Percent(e.flat, table.total), 7);
    Pad(&out, Percent(sum, table.total), 7);
    Pad(&out, FormatValue(e.cum, unit), 12);
    Pad(&out, Percent(e.cum, table.total), 7);
    out += "  ";
    out += e.name;
    out += '\n';
  }
  return out;
}

}  // namespace stackhouse::profile
