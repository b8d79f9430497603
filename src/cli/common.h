// Helpers shared by the subcommands: reading a profile file with errors that
// name it, and choosing a sample type by name.
#ifndef STACKHOUSE_CLI_COMMON_H_
#define STACKHOUSE_CLI_COMMON_H_

#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "profile/formats.h"
#include "profile/labels.h"
#include "profile/profile.h"

namespace stackhouse::cli {

// Whether `format` (a --from/--to value) or, when it is empty, the file name
// means OTLP profiles ("otlp", "otlp-json", *.otlp, *.otlp.json, ...).
bool IsOtlpName(std::string_view format, std::string_view path);

// Reads and decodes `path` ("-" = stdin). `from` is a format name or empty
// for auto-detection. Errors are prefixed with the path.
StatusOr<profile::Profile> LoadProfile(const std::string& path, const std::string& from,
                                       const profile::ReadOptions& options = {});

// Index of the sample type named `name` ("" = the profile's default), or an
// error listing the available types.
StatusOr<int> SampleTypeIndex(const profile::Profile& p, const std::string& name);

// "k=v,k2=v2" (the --labels flag) as label pairs; names must be valid
// label names. "" gives none.
StatusOr<std::vector<profile::LabelPair>> ParseLabelList(const std::string& text);

// Prints "stackhouse CMD: message" to stderr and returns `code`.
int Fail(const char* cmd, const std::string& message, int code = 1);

}  // namespace stackhouse::cli

#endif  // STACKHOUSE_CLI_COMMON_H_
