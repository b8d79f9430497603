// Kernel symbols from /proc/kallsyms (addresses are visible to root), for
// naming kernel frames. Thread-compatible; immutable after Load.
#ifndef STACKHOUSE_AGENT_KALLSYMS_H_
#define STACKHOUSE_AGENT_KALLSYMS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace stackhouse::agent {

class Kallsyms {
 public:
  // Parses text in /proc/kallsyms form ("ffffffff81000000 T _stext [mod]").
  // Fails if no symbol has a non-zero address (not root: all zeros).
  static StatusOr<Kallsyms> Parse(std::string_view text);
  static StatusOr<Kallsyms> Load(const std::string& path = "/proc/kallsyms");

  // The function containing addr ("do_syscall_64"), or "" if unknown.
  std::string_view Lookup(uint64_t addr) const;
  size_t size() const { return addrs_.size(); }

 private:
  std::vector<uint64_t> addrs_;   // sorted
  std::vector<uint32_t> names_;   // offsets into text_, parallel to addrs_
  std::string text_;              // NUL-separated names
};

}  // namespace stackhouse::agent

#endif  // STACKHOUSE_AGENT_KALLSYMS_H_
