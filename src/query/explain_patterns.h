// Internal to explain.cc: the known costly patterns, recognised from frame
// names, each with what it means and what to do next.
#ifndef STACKHOUSE_QUERY_EXPLAIN_PATTERNS_H_
#define STACKHOUSE_QUERY_EXPLAIN_PATTERNS_H_

namespace stackhouse::query::explain {

struct Pattern {
  const char* category;
  const char* what;       // "allocation and free", used in titles
  const char* regex;      // RE2, partial match on function names
  double confidence;      // how sure a name match makes us
  const char* next_step;  // the recommendation
};

inline constexpr Pattern kPatterns[] = {
    {"allocation", "memory allocation and garbage collection",
     R"(^(malloc|calloc|realloc|free|cfree|valloc|posix_memalign|aligned_alloc|__libc_(malloc|free|calloc|realloc)|_int_(malloc|free|realloc)|malloc_consolidate|tcache_\w+|sysmalloc|je_\w*alloc\w*|tc_\w+|operator new.*|operator delete.*)$|^runtime\.(mallocgc|newobject|makeslice|growslice|makemap\w*|newarray|rawstring\w*|gcBgMarkWorker|gcDrain\w*|scanobject|markroot\w*|gcAssistAlloc\w*|bgsweep|sweepone|greyobject|findObject|heapBitsSetType|memclrNoHeapPointers)$|^std::allocator|^__gnu_cxx::new_allocator|TLAB|^G1\w*(Evacuat|Mark|Scan)|ObjectAllocation)",
     0.8,
     "Allocate less on this path: reuse buffers and objects (pools, arena, reserve()), avoid temporary strings "
     "and containers, and check the heap profile for the allocation sites."},
    {"lock_contention", "lock contention and waiting on futexes",
     R"(pthread_mutex_(lock|timedlock)|__lll_lock_wait\w*|__pthread_mutex_lock\w*|futex_wait\w*|__futex_abstimed_wait\w*|\bdo_futex\b|pthread_rwlock_\w*lock|pthread_cond_(timed)?wait|sem_(timed)?wait|^std::mutex::lock|^sync\.\(\*(RW)?Mutex\)\.(R)?Lock|^runtime\.(lock2?|semacquire\w*|lockWithRank)$|^sync\.runtime_Semacquire\w*|LockSupport\.park|Unsafe\.park|ObjectMonitor::|JavaMonitorEnter)",
     0.85,
     "Shorten or split the critical section (less work under the lock, finer-grained or sharded locks, "
     "lock-free or per-thread data), and check the lock/mutex profile for the contended lock."},
    {"syscall_io", "system calls and I/O",
     R"(^entry_SYSCALL_64|^do_syscall_64$|^__x64_sys_\w+|^__do_sys_\w+|^ksys_(read|write|pread64|pwrite64)$|^vfs_(read|write|fsync\w*)$|^__libc_(read|write|pread\w*|pwrite\w*|recv\w*|send\w*)$|^__GI___libc_(read|write|open64|close)$|^(read|write|pread64|pwrite64|readv|writev|recv|send|recvfrom|sendto|recvmsg|sendmsg|epoll_wait|poll|ppoll|select|fsync|fdatasync|openat|open64|close)$|^syscall\.(Syscall6?|RawSyscall6?)$|^internal/poll\.|^os\.\(\*File\)\.(Read|Write)|^java\.io\.(FileInputStream|FileOutputStream|RandomAccessFile)\.|^sun\.nio\.ch\.)",
     0.7,  // generic: locks, spinning and I/O patterns below are more specific
     "Make fewer, larger system calls (buffer reads and writes, batch, use readv/writev or io_uring), avoid "
     "syscalls on the hot path (cache stat/open results), and move blocking I/O off latency-critical threads."},
    {"serialization", "serialization (JSON, protobuf, XML, YAML)",
     R"([Jj]son|JSON|nlohmann|rapidjson|simdjson|google::protobuf|protobuf|\bproto\w*::|[Mm]arshal|[Uu]nmarshal|SerializeTo|ParseFrom|encoding/(json|xml|gob)|jackson|[Gg]son|[Yy]aml|YAML|WireFormat|Serializ)",
     0.75,
     "Serialize less: cache encoded forms, avoid re-encoding the same data, use a faster codec or streaming "
     "encoder, and trim the fields you encode."},
    {"regex", "regular expression compilation",
     R"(regcomp|re_compile\w*|regex_compile|^regexp\.(Compile|MustCompile|compile)\b|std::__detail::_Compiler|std::(__cxx11::)?basic_regex<.*>::(basic_regex|_M_compile)|RE2::Init|re2::RE2::RE2|java\.util\.regex\.Pattern\.(compile|<init>)|pcre2?_compile\w*|boost::re_detail\w*::basic_regex_creator)",
     0.9,
     "Compile the regular expression once (a static or cached object) instead of on every call."},
    {"formatting_logging", "string formatting and logging",
     R"(^(__)?v?s?n?printf\w*$|__vfprintf_internal|__printf_fp\w*|^fmt\.(Sprintf|Fprintf|Printf|Sprint\w*|Errorf|\(\*pp\)\.\w+)$|^strconv\.|std::basic_ostream|std::(__cxx11::)?basic_ostringstream|std::num_put|std::__cxx11::to_string|^log\.|^log/slog\.|[Ll]ogger|logging|spdlog|google::LogMessage|java\.lang\.String\.format|java\.util\.Formatter)",
     0.7,
     "Format less on the hot path: raise the log level or sample logs, check the level before building "
     "messages, and avoid formatting values nobody reads."},
    {"hashing_compression", "hashing, checksums, compression and crypto",
     R"((^|[^A-Za-z])([Ss]ha(1|256|512)|[Mm]d5|crc32c?|xxh(32|64|3)\w*|murmur\w*|siphash\w*|fnv1a?)|SHA(1|256|512)|MD5|CRC32|XXH|[Dd]eflate|[Ii]nflate|gzip|zlib|zstd|ZSTD|lz4|LZ4|snappy|[Cc]ompress|huffman|libcrypto|EVP_|AES|aes_|crc32_update|sun\.security\.provider\.(SHA\w*|DigestBase|MD5)|java\.security\.MessageDigest|java\.util\.zip\.)",
     0.75,
     "Hash or compress less: cache digests, use a faster algorithm or level (e.g. xxHash, zstd -1, hardware "
     "CRC), and avoid compressing data that is small or already compressed."},
    {"memcpy", "copying memory",
     R"(^(__)?mem(cpy|move|set)\w*$|^__memcpy_\w+|^__memmove_\w+|^__memset_\w+|^runtime\.(memmove|memclrNoHeapPointers|typedmemmove|typedslicecopy)$|System\.arraycopy|java\.util\.Arrays\.copyOf\w*|copy_user_\w+|_copy_to_user|_copy_from_user|copy_page\w*)",
     0.75,
     "Copy less: pass references or views (string_view, span, slices) instead of copies, move instead of copy, "
     "and reserve capacity so containers do not grow by copying."},
    {"exceptions", "exception throwing and unwinding",
     R"(__cxa_throw|__cxa_allocate_exception|_Unwind_(RaiseException|Find_FDE|Backtrace|GetIPInfo)|__gxx_personality_v0|uw_frame_state_for|execute_cfa_program|java\.lang\.Throwable\.(fillInStackTrace|<init>)|^runtime\.(gopanic|gorecover)$)",
     0.85,
     "Do not use exceptions for control flow on this path: return status values, or check before throwing."},
    {"dynamic_linking", "dynamic linking and symbol lookup",
     R"(_dl_runtime_resolve\w*|_dl_fixup|_dlerror_run|dlopen_implementation|dlopen_doit|_dl_open|dl_open_worker\w*|_dl_close\w*|_dl_lookup_symbol_x|do_lookup_x|check_match|_dl_relocate_object|elf_machine_rela\w*|^dl_main$|_dl_map_object\w*|^__?dl(open|sym|close)\w*|_dl_catch_\w+)",
     0.85,
     "Resolve symbols once: link with -Wl,-z,now or prelink, avoid dlopen/dlsym on the hot path, or link "
     "statically; for short-lived processes, start fewer of them."},
    {"page_faults", "page faults",
     R"(asm_exc_page_fault|^exc_page_fault$|do_user_addr_fault|^(__)?handle_mm_fault$|do_anonymous_page|do_fault|filemap_fault|clear_page_(erms|rep|orig)|do_page_fault|do_huge_pmd_anonymous_page)",
     0.85,
     "Touch fresh memory less: reuse buffers instead of mapping new ones, pre-fault or use huge pages for "
     "large heaps, and check for memory that is freed to the OS and faulted back in."},
    {"spinning", "busy polling and spinning",
     R"(sched_yield|^runtime\.(procyield|osyield)$|Thread\.onSpinWait|java\.lang\.Thread\.yield|cpu_relax|_mm_pause|[Ss]pin_?[Ll]ock|native_queued_spin_lock_slowpath|__pthread_spin_lock|pthread_spin_lock|poll_idle)",
     0.85,
     "Block instead of spinning (condition variables, futexes, blocking queues), back off exponentially, or "
     "reduce the time the awaited resource is held."},
};

inline constexpr int kNumPatterns = sizeof(kPatterns) / sizeof(kPatterns[0]);

}  // namespace stackhouse::query::explain

#endif  // STACKHOUSE_QUERY_EXPLAIN_PATTERNS_H_
