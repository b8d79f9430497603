// The flame graph's hot loops, compiled to WebAssembly (vite.config.ts runs
// clang): decoding a "single" binary render response into the model's
// arrays, and laying out the visible bars of a range of levels.
//
// Why: a page's first flame graph runs these loops once, over 10^5-10^6
// nodes, before V8 has compiled them; in its interpreter they take tens of
// milliseconds. WebAssembly is compiled before it runs, so the first call is
// as fast as the hundredth.
//
// Both functions compute exactly what their JavaScript counterparts do
// (src/binary.ts decodeSingleModel, src/flame/layout.ts layoutFlame): the
// same double arithmetic in the same order. Input they would not decode the
// same way (a truncated or malformed response, a value of 2^53 or more) makes
// them return -1, and the caller runs the JavaScript, which reports it.
//
// No libc: freestanding, every buffer is passed in by the caller.
#include <stdint.h>

#define EXPORT(name) __attribute__((export_name(#name)))

// A varint at b[*pos] below 2^53 (JavaScript numbers hold it exactly), or
// 0 (false) if it is longer, bigger, or runs past the end.
static inline int ReadVarint(const uint8_t* b, uint32_t* pos, uint32_t end, uint64_t* v) {
  uint32_t p = *pos;
  uint64_t r = 0;
  for (int shift = 0;; shift += 7) {
    if (p >= end || shift > 49) return 0;
    uint8_t c = b[p++];
    r |= (uint64_t)(c & 0x7f) << shift;
    if (c < 0x80) break;
  }
  if (r >= (1ULL << 53)) return 0;
  *pos = p;
  *v = r;
  return 1;
}

// Zigzag-decoded, as the JavaScript does: z even -> z/2, odd -> -(z+1)/2.
static inline double Zigzag(uint64_t z) {
  return (z & 1) ? -(double)((z >> 1) + 1) : (double)(z >> 1);
}

// Decodes the levels of a "single" binary render response: b[0, end) holds,
// per level, a uvarint count and `count` zigzag varints, 4 per bar (x delta,
// total, self, name), values but the name scaled by `unit`. Fills nodes
// 0.. of the arrays (each of `bound` entries) and level_start[0, levels];
// returns the node count, with the largest self in result[0] and the number
// of levels up to the last one with a bar in result[1]; or -1.
EXPORT(decode_single)
int32_t DecodeSingle(const uint8_t* b, uint32_t end, double unit, uint32_t levels, uint32_t bound,
                     double* x, double* total, double* self, int32_t* name, int32_t* parent,
                     int32_t* level, int32_t* level_start, double* result) {
  uint32_t pos = 0, k = 0, used = 0;
  double max_self = 0;
  for (uint32_t l = 0; l < levels; l++) {
    uint64_t count;
    if (!ReadVarint(b, &pos, end, &count)) return -1;
    uint64_t bars = count / 4;
    if (k + bars > bound) return -1;
    const uint32_t first = k;
    level_start[l] = (int32_t)first;
    double end_x = 0;
    for (uint64_t j = 0; j < bars; j++, k++) {
      if (pos + 4 > end) return -1;
      uint64_t zx, zt, zs, zn;
      if (!ReadVarint(b, &pos, end, &zx) || !ReadVarint(b, &pos, end, &zt) ||
          !ReadVarint(b, &pos, end, &zs) || pos >= end || !ReadVarint(b, &pos, end, &zn) ||
          zn >= (1ULL << 32)) {
        return -1;
      }
      const double xs = end_x + Zigzag(zx) * unit;
      const double tot = Zigzag(zt) * unit;
      const double sf = Zigzag(zs) * unit;
      x[k] = xs;
      total[k] = tot;
      self[k] = sf;
      name[k] = (int32_t)Zigzag(zn);
      end_x = xs + tot;
      if (sf > max_self) max_self = sf;
    }
    for (uint64_t j = bars * 4; j < count; j++) {  // a partial bar: skipped
      uint64_t skip;
      if (!ReadVarint(b, &pos, end, &skip)) return -1;
    }
    for (uint32_t i = first; i < k; i++) level[i] = (int32_t)l;
    if (l == 0 || (uint32_t)level_start[l - 1] == first) {
      for (uint32_t i = first; i < k; i++) parent[i] = -1;
    } else {
      // Parents: merge-walk against the level above (both sorted by x).
      uint32_t p = (uint32_t)level_start[l - 1];
      for (uint32_t i = first; i < k; i++) {
        const double xs = x[i];
        while (p + 1 < first && x[p + 1] <= xs) p++;
        parent[i] = (int32_t)p;
      }
    }
    if (bars > 0) used = l + 1;
  }
  if (pos != end) return -1;
  level_start[levels] = (int32_t)k;
  result[0] = max_self;
  result[1] = used;
  return (int32_t)k;
}

// Math.max(0, v) and Math.min(w, v) of JavaScript (NaN stays NaN).
static inline double Max0(double v) { return v != v ? v : (v > 0 ? v : 0.0); }
static inline double MinW(double w, double v) { return v != v ? v : (v < w ? v : w); }

enum { kBar = 0, kSliver = 2 };

// Lays out levels [from, to] of a model (x, total, level_start) for the
// tick window [start, start + span) drawn `width` px wide, as layoutFlame's
// per-level loop: bars at least min_w px wide, runs of thinner ones merged
// into slivers. Appends at most `cap` rectangles after the `n` already in
// the output arrays; returns the new count, or -1 if they did not fit.
EXPORT(layout_levels)
int32_t LayoutLevels(const double* x, const double* total, const int32_t* level_start, int32_t from,
                     int32_t to, double start, double span, double width, double min_w, double scale,
                     double px_ticks, double* ox, double* ow, int32_t* olevel, int32_t* onode,
                     uint8_t* okind, int32_t n, int32_t cap) {
  const double end = start + span;
  for (int32_t l = from; l <= to; l++) {
    const uint32_t e = (uint32_t)level_start[l + 1];
    uint32_t lo = (uint32_t)level_start[l], hi = e;
    while (lo < hi) {  // the first bar ending after `start`
      const uint32_t mid = (lo + hi) >> 1;
      if (x[mid] + total[mid] > start) hi = mid;
      else lo = mid + 1;
    }
    uint32_t i = lo;
    int32_t sliver = -1;
    while (i < e) {
      const double xi = x[i];
      if (xi >= end) break;
      const double ti = total[i];
      if (ti * scale >= min_w) {
        if (n >= cap) return -1;
        const double px0 = Max0((xi - start) * scale);
        const double px1 = MinW(width, (xi + ti - start) * scale);
        ox[n] = px0;
        ow[n] = px1 - px0;
        olevel[n] = l;
        onode[n] = (int32_t)i;
        okind[n] = kBar;
        n++;
        i++;
        continue;
      }
      // A run of thin bars: all starting within a pixel of this one, but a
      // last one wide enough to stand on its own.
      const double t = xi + px_ticks;
      uint32_t a = i + 1, b = e;
      while (a < b) {
        const uint32_t mid = (a + b) >> 1;
        if (x[mid] >= t) b = mid;
        else a = mid + 1;
      }
      uint32_t j = a;
      if (j - 1 > i && total[j - 1] * scale >= min_w) j--;
      const double px0 = Max0((xi - start) * scale);
      const double px1 = MinW(width, (x[j - 1] + total[j - 1] - start) * scale);
      if (px1 > px0) {
        if (sliver == n - 1 && sliver >= 0 && ox[sliver] + ow[sliver] + 1 >= px0) {
          ow[sliver] = px1 - ox[sliver];
        } else {
          if (n >= cap) return -1;
          sliver = n;
          ox[n] = px0;
          ow[n] = px1 - px0;
          olevel[n] = l;
          onode[n] = -1;
          okind[n] = kSliver;
          n++;
        }
      }
      i = j;
    }
  }
  return n;
}
