#include "base/gzip.h"

#include <isa-l/igzip_lib.h>
#include <libdeflate.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>
#include <memory>

#include "base/memory.h"
#include "base/strings.h"

namespace stackhouse {

bool IsGzip(std::string_view data) {
  return data.size() >= 2 && static_cast<unsigned char>(data[0]) == 0x1f &&
         static_cast<unsigned char>(data[1]) == 0x8b;
}

namespace {
struct InflateDeleter {
  void operator()(z_stream* s) const {
    inflateEnd(s);
    delete s;
  }
};

// zlib streaming inflate: slower than libdeflate, but it reports where the
// data is corrupt, so it is the path for bad input.
StatusOr<std::string> GunzipZlib(std::string_view data, size_t max_output) {
  std::unique_ptr<z_stream, InflateDeleter> zs(new z_stream{});
  if (inflateInit2(zs.get(), 16 + MAX_WBITS) != Z_OK) {
    // inflateEnd on a failed init is harmless.
    return InternalError("gzip: inflateInit2 failed");
  }
  std::string out;
  // The gzip trailer holds the size of the last member mod 2^32: a good first
  // guess for the common single-member case. Deflate cannot expand more than
  // ~1032:1, which bounds the guess for hostile trailers.
  size_t guess = data.size() * 4;
  if (data.size() >= 18) {
    const auto* t = reinterpret_cast<const unsigned char*>(data.data() + data.size() - 4);
    size_t isize = t[0] | (t[1] << 8) | (t[2] << 16) | (static_cast<size_t>(t[3]) << 24);
    guess = std::min(isize + 1, data.size() * 1032 + 64);
  }
  out.resize(std::min(std::max<size_t>(guess, 4096), max_output + 1));
  size_t produced = 0;
  size_t consumed = 0;
  auto too_big = [&] {
    return ResourceExhaustedError(
        StrCat("gzip: decompressed size exceeds the limit of ", max_output, " bytes"));
  };
  while (true) {
    if (produced == out.size()) {
      if (out.size() > max_output) return too_big();
      out.resize(std::min(out.size() * 2, max_output + 1));
    }
    zs->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data() + consumed));
    uInt in_chunk = static_cast<uInt>(std::min<size_t>(data.size() - consumed, 1u << 30));
    zs->avail_in = in_chunk;
    zs->next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    uInt out_chunk = static_cast<uInt>(std::min<size_t>(out.size() - produced, 1u << 30));
    zs->avail_out = out_chunk;
    int rc = inflate(zs.get(), Z_NO_FLUSH);
    consumed += in_chunk - zs->avail_in;
    produced += out_chunk - zs->avail_out;
    if (produced > max_output) return too_big();
    if (rc == Z_OK) continue;
    if (rc == Z_STREAM_END) {
      // Another member may follow; trailing zero padding is tolerated.
      size_t rest = consumed;
      while (rest < data.size() && data[rest] == '\0') ++rest;
      if (rest == data.size()) break;
      if (!IsGzip(data.substr(rest))) {
        return InvalidArgumentError(
            StrCat("gzip: unexpected bytes after the end of the stream at offset ", rest));
      }
      consumed = rest;
      inflateReset(zs.get());
      continue;
    }
    if (rc == Z_BUF_ERROR && produced == out.size()) continue;  // needs more room
    if (rc == Z_BUF_ERROR) {
      return InvalidArgumentError(StrCat("gzip: truncated input at offset ", consumed));
    }
    return InvalidArgumentError(StrCat("gzip: corrupt data near offset ", consumed, ": ",
                                       zs->msg ? zs->msg : "inflate failed"));
  }
  out.resize(produced);
  return out;
}

// ISA-L's igzip at levels 1-3: about twice as fast as libdeflate's fastest
// level at a similar ratio. Returns false (and leaves *out unspecified) if
// the output does not fit, which the caller answers with libdeflate.
bool GzipIsal(std::string_view data, int level, std::string* out) {
  if (data.size() > UINT32_MAX) return false;
  // The work buffer (hash tables and tokens) is zeroed: igzip may read
  // stale hash entries, and the output must not depend on what was there.
  size_t level_buf_size = level == 1   ? ISAL_DEF_LVL1_DEFAULT
                          : level == 2 ? ISAL_DEF_LVL2_DEFAULT
                                       : ISAL_DEF_LVL3_DEFAULT;
  std::unique_ptr<uint8_t[]> level_buf(new uint8_t[level_buf_size]());
  isal_zstream s;
  isal_deflate_stateless_init(&s);
  s.level = static_cast<uint32_t>(level);
  s.level_buf = level_buf.get();
  s.level_buf_size = static_cast<uint32_t>(level_buf_size);
  s.gzip_flag = IGZIP_GZIP;
  s.end_of_stream = 1;
  s.flush = NO_FLUSH;
  // Incompressible input is stored: a little over its own size.
  size_t bound = data.size() + data.size() / 64 + 1024;
  out->reserve(bound);
  AdviseHugePages(out->data(), out->capacity());
  out->resize(bound);
  s.next_in = reinterpret_cast<uint8_t*>(const_cast<char*>(data.data()));
  s.avail_in = static_cast<uint32_t>(data.size());
  s.next_out = reinterpret_cast<uint8_t*>(out->data());
  s.avail_out = static_cast<uint32_t>(std::min<size_t>(bound, UINT32_MAX));
  if (isal_deflate_stateless(&s) != COMP_OK) return false;
  out->resize(s.total_out);
  return true;
}

std::string GzipZlib(std::string_view data, int level) {
  z_stream zs{};
  deflateInit2(&zs, std::clamp(level, 1, 9), Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out;
  out.resize(deflateBound(&zs, data.size()) + 32);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  // deflateBound guarantees a single Z_FINISH call suffices for inputs < 4 GiB.
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

}  // namespace

StatusOr<std::string> Gunzip(std::string_view data, size_t max_output) {
  // libdeflate decompresses whole members into a buffer, about twice as fast
  // as zlib. The size of the last member is in its trailer (mod 2^32);
  // otherwise the buffer grows and the member is decompressed again.
  struct Free {
    void operator()(libdeflate_decompressor* d) const { libdeflate_free_decompressor(d); }
  };
  std::unique_ptr<libdeflate_decompressor, Free> d(libdeflate_alloc_decompressor());
  if (!d) return GunzipZlib(data, max_output);
  std::string out;
  size_t produced = 0;
  size_t consumed = 0;
  while (consumed < data.size()) {
    std::string_view member = data.substr(consumed);
    size_t guess = member.size() * 4;
    if (member.size() >= 18) {
      const auto* t = reinterpret_cast<const unsigned char*>(data.data() + data.size() - 4);
      size_t isize = t[0] | (t[1] << 8) | (t[2] << 16) | (static_cast<size_t>(t[3]) << 24);
      guess = std::max(guess, std::min(isize + 1, member.size() * 1032 + 64));
    }
    size_t room = std::min(std::max<size_t>(guess, 4096), max_output - produced + 1);
    while (true) {
      if (out.capacity() < produced + room) {
        // Reserve first so that huge pages can back the buffer before the
        // resize touches it.
        out.reserve(produced + room);
        AdviseHugePages(out.data(), out.capacity());
      }
      out.resize(produced + room);
      size_t in_used = 0, out_used = 0;
      libdeflate_result r = libdeflate_gzip_decompress_ex(
          d.get(), member.data(), member.size(), out.data() + produced, room, &in_used, &out_used);
      if (r == LIBDEFLATE_SUCCESS) {
        produced += out_used;
        consumed += in_used;
        if (produced > max_output) {
          return ResourceExhaustedError(
              StrCat("gzip: decompressed size exceeds the limit of ", max_output, " bytes"));
        }
        break;
      }
      if (r == LIBDEFLATE_INSUFFICIENT_SPACE) {
        if (produced + room > max_output) {
          return ResourceExhaustedError(
              StrCat("gzip: decompressed size exceeds the limit of ", max_output, " bytes"));
        }
        room = std::min(room * 2, max_output - produced + 1);
        continue;
      }
      // Corrupt or truncated: let zlib find where.
      return GunzipZlib(data, max_output);
    }
    // Trailing zero padding after the last member is tolerated.
    size_t rest = consumed;
    while (rest < data.size() && data[rest] == '\0') ++rest;
    if (rest == data.size()) break;
    if (!IsGzip(data.substr(rest))) {
      return InvalidArgumentError(
          StrCat("gzip: unexpected bytes after the end of the stream at offset ", rest));
    }
    consumed = rest;
  }
  out.resize(produced);
  return out;
}

std::string Gzip(std::string_view data, int level, int threads) {
  constexpr size_t kIsalMinBytes = size_t{1} << 20;
  struct Free {
    void operator()(libdeflate_compressor* c) const { libdeflate_free_compressor(c); }
  };
  level = std::clamp(level, 1, 9);
  // Big inputs are cut into pieces compressed in parallel, each a complete
  // gzip member; concatenated members are one valid gzip stream (RFC 1952 §2.2).
  constexpr size_t kMinPiece = size_t{8} << 20;
  size_t pieces = 1;
  if (threads > 1) pieces = std::min<size_t>(threads, std::max<size_t>(1, data.size() / kMinPiece));
  std::vector<std::string> parts(pieces);
  std::vector<std::thread> workers;
  size_t piece_size = (data.size() + pieces - 1) / pieces;
  std::atomic<bool> failed{false};
  auto compress = [&](size_t k) {
    std::string_view in = data.substr(std::min(data.size(), k * piece_size), piece_size);
    // igzip for big inputs only: small ones (uploads, API responses) compress
    // in microseconds either way and libdeflate's output is smaller (igzip's
    // hand-written assembly also trips valgrind, which runs on the SDK).
    if (level <= 3 && in.size() >= kIsalMinBytes && GzipIsal(in, level, &parts[k])) return;
    std::unique_ptr<libdeflate_compressor, Free> c(libdeflate_alloc_compressor(level));
    if (!c) {
      failed = true;
      return;
    }
    std::string& out = parts[k];
    out.clear();
    out.reserve(libdeflate_gzip_compress_bound(c.get(), in.size()));
    AdviseHugePages(out.data(), out.capacity());
    out.resize(out.capacity());
    size_t n = libdeflate_gzip_compress(c.get(), in.data(), in.size(), out.data(), out.size());
    if (n == 0) failed = true;
    out.resize(n);
  };
  for (size_t k = 1; k < pieces; ++k) workers.emplace_back(compress, k);
  compress(0);
  for (std::thread& t : workers) t.join();
  if (failed) return GzipZlib(data, level);
  if (pieces == 1) return std::move(parts[0]);
  size_t total = 0;
  for (const std::string& p : parts) total += p.size();
  std::string out;
  out.reserve(total);
  for (const std::string& p : parts) out += p;
  return out;
}

}  // namespace stackhouse
