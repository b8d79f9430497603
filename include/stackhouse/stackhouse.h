/* libstackhouse: an in-process CPU, wall-clock, heap and lock profiler that
 * sends labelled pprof profiles to a Stackhouse (or Pyroscope) server.
 *
 * Two ways to use it:
 *   - Zero code: LD_PRELOAD=libstackhouse.so with STACKHOUSE_* (or
 *     PYROSCOPE_*) environment variables; see docs/libstackhouse.md.
 *   - Linked: fill a stackhouse_config, call stackhouse_start(), and
 *     stackhouse_stop() before exit (an atexit hook also flushes).
 *
 * All functions are thread-safe. None of them may be called from a signal
 * handler. Functions that return int return 0 on success and -1 on error;
 * stackhouse_last_error() then describes the error of the calling thread.
 */
#ifndef STACKHOUSE_STACKHOUSE_H_
#define STACKHOUSE_STACKHOUSE_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define STACKHOUSE_PROFILE_CPU 1u
#define STACKHOUSE_PROFILE_WALL 2u
#define STACKHOUSE_PROFILE_HEAP 4u
#define STACKHOUSE_PROFILE_LOCK 8u

#define STACKHOUSE_ENGINE_AUTO 0
#define STACKHOUSE_ENGINE_PERF 1   /* per-thread perf_event CPU clock */
#define STACKHOUSE_ENGINE_CTIMER 2 /* per-thread timer_create on the thread CPU clock */
#define STACKHOUSE_ENGINE_ITIMER 3 /* process-wide setitimer(ITIMER_PROF) */

#define STACKHOUSE_UNWIND_AUTO 0 /* frame pointers, .eh_frame where there is none */
#define STACKHOUSE_UNWIND_FP 1   /* frame pointers only */

/* Every field may be left 0/NULL for its default. Strings are copied. */
typedef struct stackhouse_config {
  const char* server_address;   /* "http://host:4040"; NULL = profile but never upload */
  const char* application_name; /* service name; default: the program's name */
  const char* tags;             /* "k=v,k2=v2" added to every profile */
  const char* tenant;           /* X-Scope-OrgID */
  const char* auth_token;       /* sent as "Authorization: Bearer ..." */
  uint32_t profiles;            /* STACKHOUSE_PROFILE_* bits; default CPU */
  uint32_t sample_rate_hz;      /* CPU and wall sampling rate; default 100 */
  uint32_t upload_interval_ms;  /* default 10000 */
  int engine;                   /* STACKHOUSE_ENGINE_*; default AUTO */
  int unwind;                   /* STACKHOUSE_UNWIND_*; default AUTO */
  uint64_t heap_sample_bytes;   /* mean bytes between heap samples; default 524288 */
  uint32_t lock_sample_rate;    /* record 1 of N contended waits on average; default 1 */
  uint32_t wall_threads_per_tick; /* wall: threads sampled per tick at most; default 16 */
  uint32_t duty_on_ms;          /* duty cycling: profile duty_on_ms of every ... */
  uint32_t duty_period_ms;      /* ... duty_period_ms; 0 = always on */
  double process_fraction;      /* profile only this share of processes; 0 = 1.0 */
  uint32_t max_queued_uploads;  /* bounded upload queue; default 16 */
  const char* log_level;        /* "debug", "info", "warn" (default), "error" */
  const char* output_dir;       /* also write each profile here as .pb.gz; NULL = no */
} stackhouse_config;

/* Starts profiling. Fails if already started or the config is invalid. */
int stackhouse_start(const stackhouse_config* config);
/* Stops sampling, uploads what was collected (waiting up to 5 s) and frees
 * the profiler's resources. A no-op when not started. */
int stackhouse_stop(void);
/* Uploads what was collected so far without waiting for the interval;
 * waits up to timeout_ms for the upload to finish (0 = do not wait). */
int stackhouse_flush(uint32_t timeout_ms);
/* 1 if profiling is running in this process. */
int stackhouse_running(void);

/* Thread-local labels attached to every sample this thread takes from now
 * on. Keys and values are copied. Setting "trace_id"/"span_id" links the
 * samples to a trace. */
int stackhouse_label_set(const char* key, const char* value);
int stackhouse_label_clear(const char* key);
void stackhouse_label_clear_all(void);

/* The calling thread's last error message ("" if none). */
const char* stackhouse_last_error(void);

/* Diagnostics as a JSON object: the engine in use, samples taken, the
 * profiler's own cost (signal handler time, its threads' CPU time), uploads
 * sent, failed and dropped. The string stays valid until the calling
 * thread's next call. "{}" when not running. */
const char* stackhouse_stats_json(void);

#ifdef __cplusplus
} /* extern "C" */

/* Sets a label for the lifetime of the object and restores the previous
 * value (or absence) afterwards:  stackhouse::ScopedLabel l("endpoint", "/x"); */
namespace stackhouse {
class ScopedLabel {
 public:
  ScopedLabel(const char* key, const char* value);
  ~ScopedLabel();
  ScopedLabel(const ScopedLabel&) = delete;
  ScopedLabel& operator=(const ScopedLabel&) = delete;

 private:
  uint32_t previous_;  // the thread's label set before this scope
};
}  // namespace stackhouse
#endif

#endif /* STACKHOUSE_STACKHOUSE_H_ */
