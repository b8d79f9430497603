// Turns an aggregated interval into pprof profiles (profile.proto), with
// symbols resolved here on the profiler's thread: ELF symbols, DWARF file,
// line and inline frames, demangled names, and mappings with build ids.
// Thread-compatible; keeps caches of opened ELF files and resolved pcs.
#ifndef STACKHOUSE_SAMPLER_PPROF_EXPORT_H_
#define STACKHOUSE_SAMPLER_PPROF_EXPORT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "sampler/collector.h"
#include "symbolize/symbolizer.h"

namespace stackhouse::sampler {

struct ExportOptions {
  int64_t cpu_period_ns = 10000000;
  int64_t wall_period_ns = 10000000;
  int64_t heap_sample_bytes = 512 * 1024;
  int64_t lock_sample_rate = 1;
};

struct EncodedProfile {
  ProfileKind kind;
  const char* name;  // "cpu", "wall", "heap", "lock"
  std::string pprof; // uncompressed profile.proto bytes
};

class PprofExporter {
 public:
  PprofExporter();
  ~PprofExporter();
  // One profile per kind that has samples (heap: when there were
  // allocations or live objects).
  std::vector<EncodedProfile> Export(const Interval& iv, const ExportOptions& opt);
  // Symbolizes these addresses now (return addresses are looked up at
  // addr - 1), so that a library unloaded before the next export still has
  // names. The mappings are re-read first if MappingsChanged() was called.
  void Prefetch(const std::vector<uintptr_t>& exact_pcs, const std::vector<uintptr_t>& return_addresses);
  // Libraries were loaded or unloaded: re-read /proc/self/maps before the
  // next lookup, and drop cached symbols after the next export.
  void MappingsChanged() { mappings_stale_ = true; }

 private:
  struct Mapping {
    symbolize::MappingInfo info;
    std::string build_id;
    symbolize::ElfSymbolizer* elf = nullptr;  // owned by elves_, may be null
  };
  struct Resolved {
    std::shared_ptr<const Mapping> mapping;  // null when unmapped
    std::vector<symbolize::Frame> frames;    // innermost first
  };
  void RefreshMappings();
  std::shared_ptr<const Mapping> FindMapping(uintptr_t addr) const;
  const Resolved& Resolve(uintptr_t addr);

  std::vector<std::shared_ptr<const Mapping>> mappings_;  // sorted by start
  bool mappings_stale_ = true;
  bool clear_after_export_ = false;
  bool refreshed_for_miss_ = false;  // the maps were re-read for an unknown address in this batch
  std::unordered_map<std::string, std::unique_ptr<symbolize::ElfSymbolizer>> elves_;
  std::unordered_map<uintptr_t, Resolved> locations_;
};

}  // namespace stackhouse::sampler

#endif  // STACKHOUSE_SAMPLER_PPROF_EXPORT_H_
