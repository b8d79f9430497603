// multipart/form-data (RFC 7578) parsing for ingest bodies: Pyroscope SDKs
// send pprof profiles as a form with "profile", "prev_profile" and
// "sample_type_config" parts, and JFR as "jfr" plus "labels". Parts refer
// into the body (no copies). Thread-safe (pure functions).
#ifndef STACKHOUSE_INGEST_MULTIPART_H_
#define STACKHOUSE_INGEST_MULTIPART_H_

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace stackhouse::ingest {

struct FormPart {
  std::string name;      // the form field name
  std::string filename;  // may be empty
  std::string content_type;
  std::string_view data;
};

// The boundary of a "multipart/form-data; boundary=..." content type, or "".
std::string MultipartBoundary(std::string_view content_type);

// Splits a body into parts. Errors name the byte offset. At most max_parts.
StatusOr<std::vector<FormPart>> ParseMultipart(std::string_view body, std::string_view boundary,
                                               size_t max_parts = 64);

// The part named `name`, or nullptr.
const FormPart* FindPart(const std::vector<FormPart>& parts, std::string_view name);

}  // namespace stackhouse::ingest

#endif  // STACKHOUSE_INGEST_MULTIPART_H_
