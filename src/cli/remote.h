// What the server clients share (remote_cmd.cc, explain_cmd.cc): server
// URLs, tenant headers, error messages and fetching a merged profile.
#ifndef STACKHOUSE_CLI_REMOTE_H_
#define STACKHOUSE_CLI_REMOTE_H_

#include <cstdint>
#include <string>

#include "base/status.h"
#include "cli/flags.h"
#include "profile/profile.h"
#include "server/http_client.h"

namespace stackhouse::cli {

// "localhost:4040/" -> "http://localhost:4040".
std::string BaseUrl(const std::string& server);
// X-Scope-OrgID from --tenant.
server::HttpHeaders TenantHeaders(const Flags& flags);
// "server answered 400: message" from a JSON error body (or the raw body).
std::string HttpError(const server::HttpClientResponse& r);

// The time flag `name` (or `def` when unset) in ms since the epoch; errors
// name the flag.
StatusOr<int64_t> TimeFlagMs(const Flags& flags, const std::string& name, const std::string& def, int64_t now_ns);

struct QueryArgs {
  std::string base, type, selector;
  int64_t from_ms, until_ms;
};

// The merged profile of a query over [from_ms, until_ms), through SelectMergeProfile.
StatusOr<profile::Profile> FetchProfile(server::HttpClient* client, const Flags& flags, const QueryArgs& q,
                                        int64_t from_ms, int64_t until_ms);

}  // namespace stackhouse::cli

#endif  // STACKHOUSE_CLI_REMOTE_H_
