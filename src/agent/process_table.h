// What the agent knows about the processes it saw: name, executable,
// container, service name and memory maps, and the ELF files behind the
// maps, all read from /proc when a pid is first sampled, so a process that
// exits before its samples are symbolized is still named and symbolized.
// ELF files are opened through the process (/proc/PID/root, or
// /proc/PID/map_files when the path now names another file), and their
// symbol and unwind tables are cached by file identity and shared by build
// id (the same library in many containers is loaded once). A process that
// exits keeps its entry until Expire drops it. Thread-compatible.
#ifndef STACKHOUSE_AGENT_PROCESS_TABLE_H_
#define STACKHOUSE_AGENT_PROCESS_TABLE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "sampler/unwind/unwind_table.h"
#include "symbolize/symbolizer.h"

namespace re2 {
class RE2;
}

namespace stackhouse::agent {

// One ELF file's symbols and unwind table, read when first needed and
// shared by every file with the same build id.
struct ElfData {
  std::unique_ptr<symbolize::ElfSymbolizer> elf;
  std::unique_ptr<sampler::unwind::UnwindTable> table;
  bool table_tried = false;
  int8_t frame_pointers = -1;  // ProcessTable::HasFramePointers, once known
  int64_t last_used_ns = 0;
};

// One mapped file, identified and opened while its process lives (the
// descriptor lets it be read later, after the process exited and the file
// was deleted).
struct ElfEntry {
  ElfEntry() = default;
  ElfEntry(const ElfEntry&) = delete;
  ElfEntry& operator=(const ElfEntry&) = delete;
  ~ElfEntry();
  int fd = -1;
  std::string path;  // where it was found (for debug-link lookups)
  bool read = false;
  std::shared_ptr<ElfData> data;  // null until read, or if unreadable
  int64_t last_used_ns = 0;
};

struct ProcessInfo {
  int pid = 0;
  std::string comm;          // /proc/PID/comm
  std::string exe;           // the executable's path
  std::string service;       // service_name: the executable's name by default
  std::string container_id;  // from the cgroup path, "" when none
  std::string cgroup;        // the cgroup path(s), one per line as in /proc/PID/cgroup
  std::vector<symbolize::MappingInfo> maps;  // executable mappings, sorted
  // The ELF file of each mapping (null: none or not found), opened while the
  // process lives.
  std::vector<std::shared_ptr<ElfEntry>> elves;
  int64_t last_seen_ns = 0;
  bool maps_reread = false;  // maps were re-read once for an unknown address
  // JIT symbols from /tmp/perf-PID.map (start, size, name), sorted; read
  // when an address outside every file mapping is first resolved.
  struct JitSymbol {
    uint64_t start, size;
    std::string name;
  };
  std::vector<JitSymbol> jit;
  int64_t jit_read_ns = -1;  // when the map was last read (re-read on a miss, at most twice a second)
  // Where frame-pointer walks end early (in code without frame pointers,
  // such as libc's __libc_start_call_main): outermost pc -> the frames an
  // .eh_frame walk of the same process found beyond it (at most 64).
  std::unordered_map<uint64_t, std::vector<uint64_t>> roots;
};

// Parses perf-PID.map text ("START SIZE NAME" per line, hex numbers), the
// format JIT runtimes (V8, the JVM with perf-map-agent, LuaJIT, ...) write.
// Malformed lines are skipped. Sorted by start.
std::vector<ProcessInfo::JitSymbol> ParsePerfMap(std::string_view text);

// One resolved user frame chain for an address.
struct UserFrames {
  const symbolize::MappingInfo* mapping = nullptr;  // null when unmapped (or JIT code)
  std::string build_id;
  std::vector<symbolize::Frame> frames;  // innermost first; empty if unknown
};

// A service-name rule: when `field` ("comm", "exe" or "cgroup") matches
// `pattern` (RE2, partial), the service name is `name` with \1.. replaced
// by the pattern's groups.
struct ServiceRule {
  std::string field;
  std::shared_ptr<const re2::RE2> pattern;
  std::string name;
};
// "exe:^/opt/(\w+)/=\1;cgroup:docker-=containers": rules separated by ';'.
StatusOr<std::vector<ServiceRule>> ParseServiceRules(std::string_view text);

class ProcessTable {
 public:
  // The first matching rule names a process's service; without a match it
  // is the executable's name.
  void SetServiceRules(std::vector<ServiceRule> rules) { rules_ = std::move(rules); }
  // The entry for pid, read from /proc the first time; null if the process
  // is gone and was never seen.
  ProcessInfo* Get(int pid, int64_t now_ns);
  // Forgets what was read about pid (it exec'd another program).
  void Forget(int pid) { procs_.erase(pid); }
  // Symbolizes `addr` in process `p` (`exact`: the interrupted pc, not a
  // return address).
  UserFrames Resolve(ProcessInfo* p, uint64_t addr, bool exact);
  // The .eh_frame row covering `pc` in process `p` (tables are built once
  // per ELF file and cached), or null.
  const sampler::unwind::UnwindRow* FindRow(ProcessInfo* p, uint64_t pc);
  // Whether the process's executable keeps frame pointers, judged from its
  // .eh_frame: in code built with them most functions define their frame
  // address from rbp; in code built without them almost none do.
  bool HasFramePointers(ProcessInfo* p);
  // Files identified, and files whose data was shared by build id.
  size_t elf_files() const { return by_file_.size(); }
  uint64_t shared_by_build_id() const { return shared_by_build_id_; }
  // Drops processes not seen since before `cutoff_ns` (exited or idle), and
  // the ELF files and unwind tables no sample used since then, so memory
  // follows the binaries that are running, not all that ever ran.
  void Expire(int64_t cutoff_ns);
  size_t processes() const { return procs_.size(); }
  // Time spent opening ELF files and building their unwind tables (once per file).
  int64_t table_build_ns() const { return table_build_ns_; }

 private:

  std::string ServiceFor(const ProcessInfo& p) const;
  std::vector<ServiceRule> rules_;
  std::unordered_map<int, std::unique_ptr<ProcessInfo>> procs_;
  // Opens the ELF files of p's mappings (cached).
  void OpenElves(ProcessInfo* p);
  std::shared_ptr<ElfEntry> OpenElf(const ProcessInfo& p, const symbolize::MappingInfo& m);
  // The mapping covering addr and its ELF file's data (null if none).
  const symbolize::MappingInfo* Find(ProcessInfo* p, uint64_t addr, ElfData** elf);
  // The file's data, read the first time.
  ElfData* Read(ElfEntry* e);
  // Builds the file's unwind table (once).
  void BuildTable(ElfEntry* e, ElfData* d);
  // "dev:inode:size:mtime" -> entry, and build id -> entry.
  std::unordered_map<std::string, std::shared_ptr<ElfEntry>> by_file_;
  std::unordered_map<std::string, std::shared_ptr<ElfData>> by_build_id_;
  uint64_t shared_by_build_id_ = 0;
  int64_t now_ns_ = 0;  // of the latest Get
  int64_t table_build_ns_ = 0;
};

// "0123abcd..." from cgroup lines such as ".../docker-<64 hex>.scope" or
// ".../kubepods/.../<64 hex>"; "" when the path names no container.
std::string ContainerIdFromCgroup(std::string_view cgroup_file);

}  // namespace stackhouse::agent

#endif  // STACKHOUSE_AGENT_PROCESS_TABLE_H_
