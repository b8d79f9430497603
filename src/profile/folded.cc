#include "profile/folded.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "base/strings.h"
#include "profile/builder.h"
#include "profile/frames.h"

namespace stackhouse::profile {
namespace {

Status LineError(size_t line_no, std::string_view what, std::string_view line) {
  return InvalidArgumentError(StrCat("line ", line_no, ": ", what, ": ", Quote(line)));
}

class FoldedParser {
 public:
  FoldedParser(const FoldedOptions& options, bool with_values) : opt_(options), with_values_(with_values) {
    Profile& p = b_.profile();
    p.sample_types.push_back({b_.String(opt_.sample_type), b_.String(opt_.sample_unit)});
    if (!opt_.period_type.empty()) {
      p.period_type = {b_.String(opt_.period_type), b_.String(opt_.period_unit)};
    }
    p.period = opt_.period;
  }

  StatusOr<Profile> Run(std::string_view text) {
    size_t line_no = 0;
    size_t pos = 0;
    while (pos < text.size()) {
      size_t nl = text.find('\n', pos);
      if (nl == std::string_view::npos) nl = text.size();
      std::string_view line = text.substr(pos, nl - pos);
      pos = nl + 1;
      ++line_no;
      if (line.size() > opt_.max_line_bytes) {
        return LineError(line_no, StrCat("longer than ", opt_.max_line_bytes, " bytes"),
                         line);
      }
      SH_RETURN_IF_ERROR(Line(line_no, TrimRight(line)));
    }
    return b_.Finish();
  }

 private:
  Status Line(size_t line_no, std::string_view line) {
    if (line.empty()) return OkStatus();
    std::string_view stack = line;
    int64_t value = 1;
    if (with_values_) {
      size_t sp = line.find_last_of(" \t");
      if (sp == std::string_view::npos) return LineError(line_no, "missing value", line);
      std::string_view num = line.substr(sp + 1);
      auto v = ParseInt64(num);
      if (!v || *v < 0) {
        return LineError(line_no, StrCat("value ", Quote(num), " is not a non-negative integer"),
                         line);
      }
      value = *v;
      stack = TrimRight(line.substr(0, sp));
    }
    if (stack.empty()) return LineError(line_no, "empty stack", line);
    // Frames shared with the previous line's prefix are reused without
    // hashing: sorted folded files share long prefixes.
    size_t common = 0;
    size_t limit = std::min(stack.size(), prev_.size());
    while (common < limit && stack[common] == prev_[common]) ++common;
    size_t reuse = 0;
    while (reuse < prev_ends_.size() && prev_ends_[reuse] <= common &&
           (prev_ends_[reuse] == stack.size() || stack[prev_ends_[reuse]] == ';') &&
           (prev_ends_[reuse] == prev_.size() || prev_[prev_ends_[reuse]] == ';')) {
      ++reuse;
    }
    root_first_.resize(reuse);
    prev_ends_.resize(reuse);
    size_t start = reuse == 0 ? 0 : prev_ends_[reuse - 1] + 1;
    while (start <= stack.size()) {
      size_t semi = stack.find(';', start);
      if (semi == std::string_view::npos) semi = stack.size();
      root_first_.push_back(b_.FrameLocation(stack.substr(start, semi - start)));
      prev_ends_.push_back(semi);
      if (root_first_.size() > opt_.max_frames) {
        return LineError(line_no, StrCat("more than ", opt_.max_frames, " frames"), line);
      }
      start = semi + 1;
    }
    prev_.assign(stack.data(), stack.size());
    // Values are non-negative, so a total that fits bounds every merged
    // sample's sum too.
    if (__builtin_add_overflow(total_, value, &total_)) {
      return LineError(line_no, "the total of the values overflows int64", line);
    }
    leaf_first_.assign(root_first_.rbegin(), root_first_.rend());
    b_.AddSample(leaf_first_, std::span<const int64_t>(&value, 1));
    return OkStatus();
  }

  const FoldedOptions& opt_;
  bool with_values_;
  ProfileBuilder b_;
  int64_t total_ = 0;
  std::string prev_;
  std::vector<size_t> prev_ends_;
  std::vector<uint32_t> root_first_, leaf_first_;
};

}  // namespace

StatusOr<Profile> ParseFolded(std::string_view text, const FoldedOptions& options) {
  return FoldedParser(options, true).Run(text);
}

StatusOr<Profile> ParseLines(std::string_view text, const FoldedOptions& options) {
  return FoldedParser(options, false).Run(text);
}

std::string WriteFolded(const Profile& p, int type_index) {
  if (type_index < 0 || static_cast<size_t>(type_index) >= p.num_types()) return "";
  FrameNames names(p);
  // Merge samples whose frame-name stacks are equal.
  HashIndex index;
  std::vector<uint32_t> stacks;   // concatenated root-first frame ids
  std::vector<uint32_t> begins;   // per distinct stack
  std::vector<int64_t> totals;
  std::vector<uint32_t> frames;
  for (size_t i = 0; i < p.samples.size(); ++i) {
    int64_t v = p.sample_values(i)[type_index];
    if (v == 0) continue;
    names.SampleFramesRootFirst(p, i, &frames);
    uint64_t h = HashBytes(frames.data(), frames.size() * sizeof(uint32_t));
    uint32_t next = static_cast<uint32_t>(totals.size());
    uint32_t id = index.FindOrInsert(h, next, [&](uint32_t k) {
      uint32_t b = begins[k], e = k + 1 < begins.size() ? begins[k + 1] : stacks.size();
      return e - b == frames.size() && std::equal(frames.begin(), frames.end(), stacks.begin() + b);
    });
    if (id == next) {
      begins.push_back(static_cast<uint32_t>(stacks.size()));
      stacks.insert(stacks.end(), frames.begin(), frames.end());
      totals.push_back(v);
    } else {
      totals[id] = SaturatingAdd(totals[id], v);  // (a profile's own values may be extreme)
    }
  }
  std::vector<std::string> lines;
  lines.reserve(totals.size());
  for (size_t k = 0; k < totals.size(); ++k) {
    if (totals[k] == 0) continue;
    uint32_t b = begins[k], e = k + 1 < begins.size() ? begins[k + 1] : stacks.size();
    std::string line;
    for (uint32_t j = b; j < e; ++j) {
      if (j > b) line.push_back(';');
      line += names.name(stacks[j]);
    }
    line.push_back(' ');
    line += std::to_string(totals[k]);
    lines.push_back(std::move(line));
  }
  std::sort(lines.begin(), lines.end());
  size_t total = 0;
  for (const auto& l : lines) total += l.size() + 1;
  std::string out;
  out.reserve(total);
  for (const auto& l : lines) {
    out += l;
    out.push_back('\n');
  }
  return out;
}

}  // namespace stackhouse::profile
