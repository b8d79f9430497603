#include "profile/frames.h"

#include "base/hash.h"

namespace stackhouse::profile {

FrameNames::FrameNames(const Profile& p) {
  HashIndex index;
  auto intern = [&](std::string_view s) {
    uint32_t next = static_cast<uint32_t>(names_.size());
    uint32_t id = index.FindOrInsert(HashString(s), next, [&](uint32_t i) { return names_[i] == s; });
    if (id == next) names_.emplace_back(s);
    return id;
  };
  // Names by function index, computed once per function.
  std::vector<uint32_t> by_function(p.functions.size() + 1, HashIndex::kEmpty);
  begin_.reserve(p.locations.size() + 1);
  for (const Location& loc : p.locations) {
    begin_.push_back(static_cast<uint32_t>(frames_.size()));
    bool any = false;
    for (const Line& line : p.location_lines(loc)) {
      const Function* fn = p.function(line.function);
      if (fn == nullptr || (fn->name == 0 && fn->system_name == 0)) continue;
      uint32_t& cached = by_function[line.function];
      if (cached == HashIndex::kEmpty) {
        cached = intern(p.str(fn->name != 0 ? fn->name : fn->system_name));
      }
      frames_.push_back(cached);
      any = true;
    }
    if (!any) frames_.push_back(intern(p.FrameName(loc)));
  }
  begin_.push_back(static_cast<uint32_t>(frames_.size()));
}

void FrameNames::SampleFramesRootFirst(const Profile& p, size_t i,
                                       std::vector<uint32_t>* out) const {
  out->clear();
  auto stack = p.sample_stack(i);
  for (size_t k = stack.size(); k-- > 0;) {
    auto f = frames(stack[k]);
    for (size_t j = f.size(); j-- > 0;) out->push_back(f[j]);
  }
}

}  // namespace stackhouse::profile
