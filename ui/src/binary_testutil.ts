// Test helper: encodes a render response in the binary form the server
// sends (`format=binary`, docs/server.md), for decoder tests.

/** `header` is the JSON part; `levels` the flamebearer levels (4 ints per bar). */
export function encodeBinaryRender(header: object, levels: number[][], unit = 1): ArrayBuffer {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out: number[] = [0x53, 0x48, 0x46, 0x42, 1, json.length & 255, (json.length >> 8) & 255, (json.length >> 16) & 255, json.length >>> 24];
  out.push(...json);
  const uv = (v: number) => {
    while (v >= 128) {
      out.push((v % 128) | 128);
      v = Math.floor(v / 128);
    }
    out.push(v);
  };
  uv(unit);
  uv(levels.length);
  for (const l of levels) {
    uv(l.length);
    l.forEach((x, k) => {
      const v = k % 4 === 3 ? x : x / unit;
      uv(v >= 0 ? v * 2 : -v * 2 - 1);
    });
  }
  return new Uint8Array(out).buffer;
}
