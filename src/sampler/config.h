// The profiler's configuration: defaults, validation, and the environment
// variables of zero-code mode (STACKHOUSE_* with PYROSCOPE_* equivalents).
#ifndef STACKHOUSE_SAMPLER_CONFIG_H_
#define STACKHOUSE_SAMPLER_CONFIG_H_

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "stackhouse/stackhouse.h"

namespace stackhouse::sampler {

enum class Engine { kAuto, kPerf, kCtimer, kItimer };
enum class UnwindMode { kAuto, kFramePointer };

struct Config {
  std::string server_address;  // empty: never upload
  std::string application_name;
  std::vector<std::pair<std::string, std::string>> tags;
  std::string tenant;
  std::string auth_token;
  uint32_t profiles = STACKHOUSE_PROFILE_CPU;
  uint32_t sample_rate_hz = 100;
  uint32_t upload_interval_ms = 10000;
  Engine engine = Engine::kAuto;
  UnwindMode unwind = UnwindMode::kAuto;
  uint64_t heap_sample_bytes = 512 * 1024;
  uint32_t lock_sample_rate = 1;
  uint32_t wall_threads_per_tick = 16;
  uint32_t duty_on_ms = 0;
  uint32_t duty_period_ms = 0;
  double process_fraction = 1.0;
  uint32_t max_queued_uploads = 16;
  std::string log_level = "warn";
  // Also write every profile to this folder as <app>.<kind>.<unix-ns>.pb.gz
  // (STACKHOUSE_OUTPUT_DIR); empty = no files.
  std::string output_dir;

  // Checks ranges and fills defaults that depend on the process (the
  // application name defaults to the program's name).
  Status Validate();
};

// Converts the C API's struct (0/NULL fields take their defaults).
StatusOr<Config> ConfigFromC(const stackhouse_config& c);

// Reads the zero-code environment. `getenv` is injectable for tests.
// STACKHOUSE_X wins over PYROSCOPE_X. Errors name the variable.
StatusOr<Config> ConfigFromEnv(const std::function<const char*(const char*)>& getenv);

// "cpu,wall,heap,lock" (also Pyroscope names: itimer, alloc, mutex, block).
StatusOr<uint32_t> ParseProfileList(std::string_view s);
// "k=v,k2=v2" with names checked like Prometheus label names.
StatusOr<std::vector<std::pair<std::string, std::string>>> ParseTags(std::string_view s);
// "10s", "500ms", "1m", "2h" or plain seconds ("10").
StatusOr<uint32_t> ParseDurationMs(std::string_view s);

}  // namespace stackhouse::sampler

#endif  // STACKHOUSE_SAMPLER_CONFIG_H_
