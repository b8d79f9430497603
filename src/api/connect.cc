#include "api/connect.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/reflection.h>
#include <google/protobuf/util/json_util.h>

#include <climits>
#include <cstdint>
#include <memory>
#include <vector>

#include "base/gzip.h"
#include "base/strings.h"

namespace stackhouse::api {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

char LowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (LowerAscii(a[i]) != LowerAscii(b[i])) return false;
  }
  return true;
}

// Length of the valid UTF-8 sequence at s[i], or 0 if it is not valid
// (overlong forms, surrogates and code points above U+10FFFF are invalid).
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  uint8_t b0 = byte(i);
  if (b0 < 0x80) return 1;
  size_t n;
  if ((b0 & 0xe0) == 0xc0) {
    n = 2;
  } else if ((b0 & 0xf0) == 0xe0) {
    n = 3;
  } else if ((b0 & 0xf8) == 0xf0) {
    n = 4;
  } else {
    return 0;
  }
  static constexpr uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
  uint32_t cp = b0 & (0x7f >> n);
  if (s.size() - i < n) return 0;
  for (size_t k = 1; k < n; ++k) {
    uint8_t b = byte(i + k);
    if ((b & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3f);
  }
  if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return n;
}

bool IsValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    size_t n = Utf8SequenceLength(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

// Replaces every byte that does not start a valid UTF-8 sequence with U+FFFD.
std::string FixUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  for (size_t i = 0; i < s.size();) {
    size_t n = Utf8SequenceLength(s, i);
    if (n == 0) {
      out.append("\xef\xbf\xbd");
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

// True if some string field (not bytes) of `msg`, at any depth, is not valid
// UTF-8. libprotobuf logs an error for each such field it serializes, its JSON
// printer silently drops the bad bytes, and Go's protobuf refuses the message.
bool HasInvalidUtf8(const Message& msg) {
  const Reflection* refl = msg.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  refl->ListFields(msg, &fields);
  std::string scratch;
  for (const FieldDescriptor* f : fields) {
    if (f->type() == FieldDescriptor::TYPE_STRING) {
      if (f->is_repeated()) {
        for (int i = 0; i < refl->FieldSize(msg, f); ++i) {
          if (!IsValidUtf8(refl->GetRepeatedStringReference(msg, f, i, &scratch))) return true;
        }
      } else if (!IsValidUtf8(refl->GetStringReference(msg, f, &scratch))) {
        return true;
      }
    } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (f->is_repeated()) {
        for (int i = 0; i < refl->FieldSize(msg, f); ++i) {
          if (HasInvalidUtf8(refl->GetRepeatedMessage(msg, f, i))) return true;
        }
      } else if (HasInvalidUtf8(refl->GetMessage(msg, f))) {
        return true;
      }
    }
  }
  return false;
}

// Rewrites every string field (not bytes) of `msg`, recursively, to valid
// UTF-8.
void SanitizeUtf8(Message* msg) {
  const Reflection* refl = msg->GetReflection();
  std::vector<const FieldDescriptor*> fields;
  refl->ListFields(*msg, &fields);
  for (const FieldDescriptor* f : fields) {
    if (f->type() == FieldDescriptor::TYPE_STRING) {
      if (f->is_repeated()) {
        for (int i = 0; i < refl->FieldSize(*msg, f); ++i) {
          std::string v = refl->GetRepeatedString(*msg, f, i);
          if (!IsValidUtf8(v)) refl->SetRepeatedString(msg, f, i, FixUtf8(v));
        }
      } else {
        std::string v = refl->GetString(*msg, f);
        if (!IsValidUtf8(v)) refl->SetString(msg, f, FixUtf8(v));
      }
    } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (f->is_repeated()) {
        for (int i = 0; i < refl->FieldSize(*msg, f); ++i) {
          SanitizeUtf8(refl->MutableRepeatedMessage(msg, f, i));
        }
      } else {
        SanitizeUtf8(refl->MutableMessage(msg, f));
      }
    }
  }
}

std::string Encode(ConnectCodec codec, const Message& msg) {
  if (codec == ConnectCodec::kProto) return msg.SerializeAsString();
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = false;
  options.preserve_proto_field_names = false;
  options.always_print_enums_as_ints = false;
  options.add_whitespace = false;
  std::string out;
  if (!google::protobuf::util::MessageToJsonString(msg, &out, options).ok()) return "{}";
  return out;
}

std::string StatusText(const google::protobuf::util::Status& s) {
  return std::string(s.message().data(), s.message().size());
}

std::string ErrorBody(std::string_view code, std::string_view message) {
  std::string body = "{\"code\":\"";
  body.append(code);
  body.push_back('"');
  if (!message.empty()) {
    body.append(",\"message\":\"");
    AppendJsonEscaped(&body, message);
    body.push_back('"');
  }
  body.push_back('}');
  return body;
}

}  // namespace

StatusOr<ConnectCodec> CodecForContentType(std::string_view content_type) {
  std::vector<std::string_view> parts = Split(content_type, ';');
  std::string_view media = TrimSpace(parts[0]);
  ConnectCodec codec;
  if (EqualsIgnoreCase(media, "application/proto")) {
    codec = ConnectCodec::kProto;
  } else if (EqualsIgnoreCase(media, "application/json")) {
    codec = ConnectCodec::kJson;
  } else {
    return InvalidArgumentError(StrCat("unsupported Content-Type ", Quote(content_type),
                                       ": want application/proto or application/json"));
  }
  for (size_t i = 1; i < parts.size(); ++i) {
    std::string_view param = TrimSpace(parts[i]);
    size_t eq = param.find('=');
    if (eq == std::string_view::npos) continue;
    if (!EqualsIgnoreCase(TrimSpace(param.substr(0, eq)), "charset")) continue;
    std::string_view value = TrimSpace(param.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    if (!EqualsIgnoreCase(value, "utf-8") && !EqualsIgnoreCase(value, "utf8")) {
      return InvalidArgumentError(
          StrCat("unsupported charset in Content-Type ", Quote(content_type), ": want utf-8"));
    }
  }
  return codec;
}

Status DecodeConnectRequest(ConnectCodec codec, std::string_view body,
                            std::string_view content_encoding, Message* msg,
                            size_t max_decompressed) {
  msg->Clear();
  const std::string type = msg->GetTypeName();
  std::string_view encoding = TrimSpace(content_encoding);
  std::string decompressed;
  if (encoding.empty() || EqualsIgnoreCase(encoding, "identity")) {
    if (body.size() > max_decompressed) {
      return ResourceExhaustedError(StrCat(type, " request body of ", body.size(),
                                           " bytes exceeds the limit of ", max_decompressed,
                                           " bytes"));
    }
  } else if (EqualsIgnoreCase(encoding, "gzip")) {
    StatusOr<std::string> out = Gunzip(body, max_decompressed);
    if (!out.ok()) {
      return Status(out.status().code(),
                    StrCat("gzip ", type, " request body: ", out.status().message()));
    }
    decompressed = std::move(out).value();
    body = decompressed;
  } else {
    return UnimplementedError(StrCat("unsupported Content-Encoding ", Quote(content_encoding),
                                     ": want gzip or identity"));
  }
  if (body.empty()) return OkStatus();

  if (codec == ConnectCodec::kProto) {
    if (body.size() > static_cast<size_t>(INT_MAX) ||
        !msg->ParseFromArray(body.data(), static_cast<int>(body.size()))) {
      msg->Clear();
      return InvalidArgumentError(
          StrCat("malformed application/proto body for ", type, " (", body.size(), " bytes)"));
    }
    return OkStatus();
  }

  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  google::protobuf::util::Status st =
      google::protobuf::util::JsonStringToMessage({body.data(), body.size()}, msg, options);
  if (!st.ok()) {
    msg->Clear();
    return InvalidArgumentError(
        StrCat("malformed application/json body for ", type, ": ", StatusText(st)));
  }
  return OkStatus();
}

std::string EncodeConnectResponse(ConnectCodec codec, const Message& msg) {
  if (!HasInvalidUtf8(msg)) return Encode(codec, msg);
  std::unique_ptr<Message> copy(msg.New());
  copy->CopyFrom(msg);
  SanitizeUtf8(copy.get());
  return Encode(codec, *copy);
}

std::string ConnectContentType(ConnectCodec codec) {
  return codec == ConnectCodec::kProto ? "application/proto" : "application/json";
}

std::string_view ConnectCode(StatusCode code) {
  switch (code) {
    case StatusCode::kCancelled:
      return "canceled";
    case StatusCode::kUnknown:
      return "unknown";
    case StatusCode::kInvalidArgument:
      return "invalid_argument";
    case StatusCode::kDeadlineExceeded:
      return "deadline_exceeded";
    case StatusCode::kNotFound:
      return "not_found";
    case StatusCode::kAlreadyExists:
      return "already_exists";
    case StatusCode::kPermissionDenied:
      return "permission_denied";
    case StatusCode::kResourceExhausted:
      return "resource_exhausted";
    case StatusCode::kFailedPrecondition:
      return "failed_precondition";
    case StatusCode::kAborted:
      return "aborted";
    case StatusCode::kOutOfRange:
      return "out_of_range";
    case StatusCode::kUnimplemented:
      return "unimplemented";
    case StatusCode::kInternal:
      return "internal";
    case StatusCode::kUnavailable:
      return "unavailable";
    case StatusCode::kDataLoss:
      return "data_loss";
    case StatusCode::kOk:
      break;
  }
  return "unknown";
}

int ConnectHttpStatus(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return 200;
    case StatusCode::kCancelled:
      return 499;
    case StatusCode::kUnknown:
      return 500;
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kDeadlineExceeded:
      return 504;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kAlreadyExists:
      return 409;
    case StatusCode::kPermissionDenied:
      return 403;
    case StatusCode::kResourceExhausted:
      return 429;
    case StatusCode::kFailedPrecondition:
      return 400;
    case StatusCode::kAborted:
      return 409;
    case StatusCode::kOutOfRange:
      return 400;
    case StatusCode::kUnimplemented:
      return 501;
    case StatusCode::kInternal:
      return 500;
    case StatusCode::kUnavailable:
      return 503;
    case StatusCode::kDataLoss:
      return 500;
  }
  return 500;
}

ConnectError ToConnectError(const Status& s) {
  if (s.ok()) return {500, ErrorBody("unknown", "internal error: OK status sent as an error")};
  return {ConnectHttpStatus(s.code()), ErrorBody(ConnectCode(s.code()), s.message())};
}

ConnectError UnsupportedMediaTypeError(const Status& s) {
  return {kHttpUnsupportedMediaType, ErrorBody("unimplemented", s.message())};
}

}  // namespace stackhouse::api
