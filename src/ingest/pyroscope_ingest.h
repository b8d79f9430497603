// Pyroscope's legacy ingest API (POST /ingest): turns the query parameters
// and body of a request into a profile with labels, following Pyroscope's
// rules (docs: ../shared/reference/pyroscope.md §2.1):
//
//   name=app.type{k=v,...}   the app (service_name) and the profile type from
//                            the last dot-suffix (cpu when absent or unknown)
//   from, until              now, now-1h, unix s/ms/us/ns, YYYYMMDD, RFC 3339
//   format                   folded (default; "collapsed", "groups"), lines,
//                            pprof (raw, gzip, or multipart "profile" +
//                            "sample_type_config"), speedscope
//   sampleRate               Hz (default 100): cpu and wall sample counts
//                            become nanoseconds (x 1e9 / sampleRate)
//   spyName                  kept as the pyroscope_spy label
//   units, aggregationType   accepted and validated; the profile type decides
//
// Errors are kInvalidArgument (HTTP 400) for a bad name, time, format or
// body, kResourceExhausted (413) when a body decompresses past the limit,
// kUnimplemented (422) for formats not supported here. Thread-safe.
#ifndef STACKHOUSE_INGEST_PYROSCOPE_INGEST_H_
#define STACKHOUSE_INGEST_PYROSCOPE_INGEST_H_

#include <string>
#include <string_view>

#include "base/status.h"
#include "profile/labels.h"
#include "profile/profile.h"

namespace stackhouse::ingest {

struct IngestInput {
  std::string name, from, until, format, sample_rate, spy_name, units, aggregation_type;
  std::string content_type;
  std::string_view body;
  int64_t now_nanos = 0;
};

struct IngestLimits {
  size_t max_decompressed_bytes = size_t{64} << 20;
};

struct IngestedProfile {
  profile::LabelSet labels;  // service_name, __name__ and the name's labels
  profile::Profile profile;
  int64_t time_nanos = 0;
  int64_t duration_nanos = 0;
  // Further profiles of the same request (a JFR recording gives one per
  // event kind: CPU, allocations, locks), each with its own __name__.
  std::vector<IngestedProfile> more;
};

StatusOr<IngestedProfile> ParseIngest(const IngestInput& in, const IngestLimits& limits = {});

// The Pyroscope profile type of a legacy type suffix ("cpu", "inuse_space",
// "mutex_count", ...): its name, sample type and unit, period type and unit,
// and whether counts are scaled to nanoseconds by the sample rate.
struct LegacyType {
  std::string name, sample_type, sample_unit, period_type, period_unit;
  bool scale_by_rate = false;
};
StatusOr<LegacyType> LegacyTypeForSuffix(std::string_view suffix);

}  // namespace stackhouse::ingest

#endif  // STACKHOUSE_INGEST_PYROSCOPE_INGEST_H_
