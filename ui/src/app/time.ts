// Times as the server takes them: "now", "now-1h" (s, m, h, d, w), unix
// seconds or milliseconds, or an ISO date. Returned as unix seconds.

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

export function parseTime(text: string, nowSec: number): number | null {
  const t = text.trim();
  if (t === '' || t === 'now') return nowSec;
  const rel = /^now-(\d+(?:\.\d+)?)([smhdw])$/.exec(t);
  if (rel) return nowSec - parseFloat(rel[1]) * UNITS[rel[2]];
  if (/^\d+$/.test(t)) {
    const n = parseInt(t, 10);
    return t.length >= 13 ? n / 1000 : n;
  }
  const d = Date.parse(t);
  return Number.isNaN(d) ? null : d / 1000;
}

export function rangeOf(from: string, until: string, nowSec: number): { from: number; until: number } | null {
  const f = parseTime(from, nowSec);
  const u = parseTime(until, nowSec);
  if (f === null || u === null || u <= f) return null;
  return { from: f, until: u };
}

export const PRESETS: { label: string; from: string }[] = [
  { label: 'Last 5 minutes', from: 'now-5m' },
  { label: 'Last 15 minutes', from: 'now-15m' },
  { label: 'Last 1 hour', from: 'now-1h' },
  { label: 'Last 6 hours', from: 'now-6h' },
  { label: 'Last 24 hours', from: 'now-24h' },
  { label: 'Last 7 days', from: 'now-7d' },
  { label: 'Last 30 days', from: 'now-30d' },
];

/** "2026-11-26 10:00" in local time, for inputs and labels. */
export function formatTime(sec: number): string {
  const d = new Date(sec * 1000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** For <input type="datetime-local">. */
export function toInputValue(sec: number): string {
  return formatTime(sec).replace(' ', 'T');
}
