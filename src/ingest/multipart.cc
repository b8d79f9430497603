#include "ingest/multipart.h"

#include <algorithm>

#include "base/strings.h"

namespace stackhouse::ingest {

namespace {

// The value of parameter `key` in a header value like
// `form-data; name="profile"; filename="p.pprof"`.
std::string Param(std::string_view header, std::string_view key) {
  size_t pos = 0;
  while (pos < header.size()) {
    size_t semi = header.find(';', pos);
    std::string_view part = TrimSpace(header.substr(pos, semi == std::string_view::npos
                                                             ? std::string_view::npos
                                                             : semi - pos));
    pos = semi == std::string_view::npos ? header.size() : semi + 1;
    size_t eq = part.find('=');
    if (eq == std::string_view::npos) continue;
    if (AsciiLower(TrimSpace(part.substr(0, eq))) != key) continue;
    std::string_view v = TrimSpace(part.substr(eq + 1));
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
      std::string out;
      for (size_t i = 1; i + 1 < v.size(); ++i) {
        if (v[i] == '\\' && i + 2 < v.size()) ++i;
        out.push_back(v[i]);
      }
      return out;
    }
    return std::string(v);
  }
  return "";
}

}  // namespace

std::string MultipartBoundary(std::string_view content_type) {
  size_t semi = content_type.find(';');
  if (AsciiLower(TrimSpace(content_type.substr(0, semi))) != "multipart/form-data") return "";
  if (semi == std::string_view::npos) return "";
  return Param(content_type.substr(semi + 1), "boundary");
}

StatusOr<std::vector<FormPart>> ParseMultipart(std::string_view body, std::string_view boundary,
                                               size_t max_parts) {
  if (boundary.empty() || boundary.size() > 200) {
    return InvalidArgumentError("multipart: missing or invalid boundary");
  }
  const std::string delim = "--" + std::string(boundary);
  std::vector<FormPart> parts;
  size_t pos = body.find(delim);
  if (pos == std::string_view::npos) {
    return InvalidArgumentError("multipart: the body does not contain the boundary");
  }
  pos += delim.size();
  while (true) {
    // After a delimiter: "--" ends the body; otherwise CRLF then headers.
    if (body.substr(pos, 2) == "--") return parts;
    if (body.substr(pos, 2) == "\r\n") {
      pos += 2;
    } else if (body.substr(pos, 1) == "\n") {
      pos += 1;
    } else {
      return InvalidArgumentError(StrCat("multipart: offset ", pos, ": expected a line end after the boundary"));
    }
    if (parts.size() >= max_parts) {
      return InvalidArgumentError(StrCat("multipart: more than ", max_parts, " parts"));
    }
    FormPart part;
    // Headers up to an empty line.
    while (true) {
      size_t eol = body.find('\n', pos);
      if (eol == std::string_view::npos) {
        return InvalidArgumentError(StrCat("multipart: offset ", pos, ": unterminated part headers"));
      }
      std::string_view line = body.substr(pos, eol - pos);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      pos = eol + 1;
      if (line.empty()) break;
      size_t colon = line.find(':');
      if (colon == std::string_view::npos) {
        return InvalidArgumentError(StrCat("multipart: offset ", pos, ": malformed part header"));
      }
      std::string name = AsciiLower(TrimSpace(line.substr(0, colon)));
      std::string_view value = TrimSpace(line.substr(colon + 1));
      if (name == "content-disposition") {
        part.name = Param(value, "name");
        part.filename = Param(value, "filename");
      } else if (name == "content-type") {
        part.content_type = std::string(value);
      }
    }
    // Data up to CRLF + delimiter.
    size_t end = body.find("\r\n" + delim, pos);
    size_t skip = 2;
    if (end == std::string_view::npos) {
      end = body.find("\n" + delim, pos);
      skip = 1;
    }
    if (end == std::string_view::npos) {
      return InvalidArgumentError(StrCat("multipart: offset ", pos, ": part ", Quote(part.name),
                                         " is not terminated by the boundary"));
    }
    part.data = body.substr(pos, end - pos);
    parts.push_back(std::move(part));
    pos = end + skip + delim.size();
  }
}

const FormPart* FindPart(const std::vector<FormPart>& parts, std::string_view name) {
  for (const FormPart& p : parts) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

}  // namespace stackhouse::ingest
