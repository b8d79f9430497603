// The Connect protocol's unary RPC encoding (https://connectrpc.com/docs/protocol/),
// as spoken by Pyroscope's APIs: a POST whose body is one protobuf message,
// either binary ("application/proto") or proto3 JSON ("application/json"),
// optionally gzip-compressed (Content-Encoding), and answered either with one
// message in the same codec or with an HTTP error status and a JSON body
// {"code": "<connect code>", "message": "..."}.
//
// These are pure functions over bytes and messages: the HTTP server, routing
// and headers such as Connect-Protocol-Version belong to the caller. All
// functions are thread-safe.
#ifndef STACKHOUSE_API_CONNECT_H_
#define STACKHOUSE_API_CONNECT_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "base/status.h"

namespace google::protobuf {
class Message;
}  // namespace google::protobuf

namespace stackhouse::api {

enum class ConnectCodec { kProto, kJson };

// The HTTP status for a request whose Content-Type CodecForContentType
// rejects (Connect answers it with 415 Unsupported Media Type).
inline constexpr int kHttpUnsupportedMediaType = 415;

// Maps a request's Content-Type to its codec: "application/proto" or
// "application/json", case-insensitive, with optional parameters such as
// "; charset=utf-8" (a charset other than UTF-8 is rejected). Any other type,
// including the streaming "application/connect+json", is an error the caller
// answers with kHttpUnsupportedMediaType (see UnsupportedMediaTypeError).
StatusOr<ConnectCodec> CodecForContentType(std::string_view content_type);

// Decodes a request body into `msg` (cleared first). `content_encoding` is the
// request's Content-Encoding: "" or "identity" for none, or "gzip"; any other
// is kUnimplemented, as the protocol asks. A body that would exceed
// `max_decompressed` bytes (compressed or not) is kResourceExhausted; corrupt
// gzip and malformed protobuf or JSON are kInvalidArgument with a message that
// names the message type. JSON accepts both the lowerCamelCase and the
// original field names, enum names or numbers, int64 as strings or numbers,
// and ignores unknown fields. An empty body decodes as the empty message.
Status DecodeConnectRequest(ConnectCodec codec, std::string_view body,
                            std::string_view content_encoding, google::protobuf::Message* msg,
                            size_t max_decompressed = 64 << 20);

// Serializes a response: binary protobuf, or proto3 JSON with lowerCamelCase
// field names, default values omitted, int64 as strings and bytes as base64
// (what Connect clients and Grafana expect). In both codecs, bytes of string
// fields that are not valid UTF-8 (say, from a profile's symbols) are replaced
// by U+FFFD, as proto3 requires and Go clients enforce.
std::string EncodeConnectResponse(ConnectCodec codec, const google::protobuf::Message& msg);

// "application/proto" or "application/json".
std::string ConnectContentType(ConnectCodec codec);

// An error response: the HTTP status and the JSON body; its Content-Type is
// always "application/json".
struct ConnectError {
  int http_status;
  std::string body;
};

// The Connect code string of a status code, e.g. "invalid_argument",
// "canceled" (Connect's spelling), "unknown" for kOk (never an error).
std::string_view ConnectCode(StatusCode code);

// The HTTP status the Connect spec assigns to a code (kOk gives 200).
int ConnectHttpStatus(StatusCode code);

// {http status, {"code":"...","message":"..."}} for a non-OK status. An OK
// status (a caller bug) becomes an "unknown" error with HTTP 500.
ConnectError ToConnectError(const Status& s);

// The 415 response for a Content-Type that CodecForContentType rejected,
// carrying its message with code "unimplemented".
ConnectError UnsupportedMediaTypeError(const Status& s);

}  // namespace stackhouse::api

#endif  // STACKHOUSE_API_CONNECT_H_
