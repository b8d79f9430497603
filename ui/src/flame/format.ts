// Value formatting with Pyroscope's unit semantics:
//   "samples" (and "trace_samples") with sampleRate > 0: value / sampleRate s
//   "lock_nanoseconds", "nanoseconds": value ns
//   "bytes": 1024-based B, KiB, MiB, GiB, TiB, PiB
//   everything else ("objects", "goroutines", "lock_samples", rate-less
//   "samples", unknown): counts with K/M/G/T/P suffixes.
// Numbers keep 3 significant digits with trailing zeros dropped, e.g.
// "12.3 ms", "4.56 s", "2.1 min", "1.23 M".

export type UnitKind = 'time' | 'bytes' | 'count';

export function unitKind(units: string, sampleRate: number): UnitKind {
  switch (units) {
    case 'samples':
    case 'trace_samples':
      return sampleRate > 0 ? 'time' : 'count';
    case 'lock_nanoseconds':
    case 'nanoseconds':
      return 'time';
    case 'bytes':
    case 'lock_bytes':
      return 'bytes';
    default:
      return 'count';
  }
}

/** Seconds represented by `value` of a time unit (NaN for other kinds). */
export function toSeconds(value: number, units: string, sampleRate: number): number {
  if (units === 'lock_nanoseconds' || units === 'nanoseconds') return value / 1e9;
  if (unitKind(units, sampleRate) === 'time') return value / sampleRate;
  return NaN;
}

/** `v` with 3 significant digits, trailing zeros dropped; |v| < 1000. */
export function sig3(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  let s = a >= 100 ? a.toFixed(0) : a.toPrecision(3);
  if (s.includes('e')) s = String(Number(s)); // tiny values
  if (s.includes('.')) s = s.replace(/0+$/, '').replace(/\.$/, '');
  return v < 0 ? '-' + s : s;
}

/** Rounds to what sig3 would show, so unit choice can see roll-overs. */
function round3(a: number): number {
  return a === 0 ? 0 : Number(a.toPrecision(3));
}

/**
 * Picks the largest unit whose scaled value is >= 1, moving up once more when
 * rounding carries the value to the next unit (999.96 ms -> "1 s").
 * `steps[i]` is the size of unit i in base units, ascending.
 */
function scaled(value: number, steps: number[], labels: string[]): string {
  const sign = value < 0 ? '-' : '';
  const a = Math.abs(value);
  if (!Number.isFinite(a)) return String(value);
  let i = 0;
  while (i + 1 < steps.length && a >= steps[i + 1]) i++;
  let v = a / steps[i];
  if (i + 1 < steps.length && round3(v) * steps[i] >= steps[i + 1]) {
    v = (round3(v) * steps[i]) / steps[i + 1]; // show "1 min", not "0.999 min"
    i++;
  }
  const s = v >= 1000 ? Math.round(v).toString() : sig3(v); // top unit may exceed
  return sign + s + ' ' + labels[i];
}

const TIME_STEPS = [1e-9, 1e-6, 1e-3, 1, 60, 3600, 86400];
const TIME_LABELS = ['ns', 'µs', 'ms', 's', 'min', 'h', 'd'];

export function formatDuration(seconds: number): string {
  if (seconds === 0) return '0 s';
  return scaled(seconds, TIME_STEPS, TIME_LABELS);
}

const BYTE_STEPS = [1, 1024, 1024 ** 2, 1024 ** 3, 1024 ** 4, 1024 ** 5];
const BYTE_LABELS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

export function formatBytes(bytes: number): string {
  if (Math.abs(bytes) < 1024) return sig3Int(bytes) + ' B';
  return scaled(bytes, BYTE_STEPS, BYTE_LABELS);
}

/** Whole numbers below 1000 print exactly; others with 3 digits. */
function sig3Int(v: number): string {
  return Number.isInteger(v) ? String(v) : sig3(v);
}

const COUNT_STEPS = [1, 1e3, 1e6, 1e9, 1e12, 1e15];
const COUNT_LABELS = ['', 'K', 'M', 'G', 'T', 'P'];

export function formatCount(n: number): string {
  if (Math.abs(n) < 1000 && round3(Math.abs(n)) < 1000) return sig3Int(n);
  return scaled(n, COUNT_STEPS, COUNT_LABELS);
}

export function formatValue(value: number, units: string, sampleRate: number): string {
  switch (unitKind(units, sampleRate)) {
    case 'time':
      return formatDuration(toSeconds(value, units, sampleRate));
    case 'bytes':
      return formatBytes(value);
    default:
      return formatCount(value);
  }
}

/** "12.3%", "0.05%", "<0.01%", "100%"; "0%" when whole <= 0. */
export function formatPercent(part: number, whole: number): string {
  if (!(whole > 0) || part === 0) return '0%';
  const p = (part / whole) * 100;
  if (Math.abs(p) < 0.01) return (p < 0 ? '>-' : '<') + '0.01%';
  return sig3(round3(p)) + '%';
}

/** Signed percentage-point difference: "+1.23 pp", "-0.5 pp", "0 pp". */
export function formatPointsChange(points: number): string {
  if (points === 0) return '0 pp';
  return (points > 0 ? '+' : '') + sig3(round3(points)) + ' pp';
}
