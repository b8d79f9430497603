import type { FlameModel } from './flame/model';
import { decodeBinaryRender } from './binary';
import { coreReady } from './wasm/flamecore';

// The server's APIs as the UI uses them: Pyroscope's HTTP render endpoints
// and the Connect querier (JSON). Errors carry the server's message.

export interface Flamebearer {
  names: string[];
  levels: ArrayLike<number>[];
  numTicks: number;
  maxSelf: number;
}

export interface Timeline {
  startTime: number; // unix seconds
  samples: number[];
  durationDelta: number; // seconds per sample
}

export interface RenderResponse {
  flamebearer: Flamebearer;
  metadata: { format: 'single' | 'double'; units: string; sampleRate: number; name: string };
  timeline?: Timeline;
  leftTimeline?: Timeline;
  rightTimeline?: Timeline;
  groups?: Record<string, Timeline>;
  leftTicks?: number;
  rightTicks?: number;
  truncation?: { keptNodes: number; foldedNodes: number; foldedValue: number; otherNodes: number };
  /** The flame graph model, when the decoder built it directly (binary responses). */
  model?: FlameModel;
  /** Which decoder built `model`: the WebAssembly one or the TypeScript fallback. */
  decoder?: 'wasm' | 'js';
}

export interface ProfileType {
  ID: string;
  name: string;
  sampleType: string;
  sampleUnit: string;
  periodType?: string;
  periodUnit?: string;
}

export interface SeriesPoint {
  value: number;
  timestamp: string | number; // ms; int64 arrives as a string in JSON
}

export interface Series {
  labels?: { name: string; value: string }[];
  points?: SeriesPoint[];
}

/** An error the UI shows: kind tells an unreachable server from a bad query. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly kind: 'network' | 'client' | 'server',
    readonly status = 0,
  ) {
    super(message);
  }
}

let base = '';
/** For tests and the bench: talk to another origin. */
export function setBase(url: string): void {
  base = url.replace(/\/$/, '');
}

async function check(r: Response): Promise<Response> {
  if (r.ok) return r;
  let message = `${r.status} ${r.statusText}`;
  try {
    const j = await r.json();
    if (j && typeof j.message === 'string') message = j.message;
  } catch {
    // not JSON: keep the status line
  }
  throw new ApiError(message, r.status >= 500 ? 'server' : 'client', r.status);
}

async function request(path: string, init?: RequestInit): Promise<Response> {
  let r: Response;
  try {
    r = await fetch(base + path, init);
  } catch (e) {
    throw new ApiError(`cannot reach the server (${(e as Error).message})`, 'network');
  }
  return check(r);
}

async function connect<T>(method: string, body: unknown): Promise<T> {
  const r = await request(`/querier.v1.QuerierService/${method}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  return (await r.json()) as T;
}

/** Seconds since the epoch, for `from`/`until` parameters. */
export type Range = { from: number; until: number };

declare global {
  interface Window {
    __stackhousePrefetch?: { key: string; response: Promise<ArrayBuffer | null> };
  }
}

/**
 * The response index.html started fetching for this page's first query, if
 * it is the query described by (query, from, until, maxNodes) as the URL
 * has them; taken once.
 */
export async function takePrefetched(
  query: string,
  from: string,
  until: string,
  maxNodes: number,
): Promise<RenderResponse | null> {
  const pre = window.__stackhousePrefetch;
  if (!pre) return null;
  window.__stackhousePrefetch = undefined;
  const q = new URLSearchParams({ query, from: from || 'now-1h', until: until || 'now' });
  if (maxNodes) q.set('maxNodes', String(maxNodes));
  if (q.toString() !== pre.key) return null;
  const buf = await pre.response;
  performance.mark('response-in-hand');
  return buf ? decode(buf) : null;
}

/** decodeBinaryRender with the WebAssembly decoder (where it loads). */
async function decode(buf: ArrayBuffer): Promise<RenderResponse> {
  await coreReady;
  return decodeBinaryRender(buf);
}

export async function render(
  query: string,
  range: Range,
  opts: { maxNodes?: number; groupBy?: string } = {},
): Promise<RenderResponse> {
  const p = new URLSearchParams({
    query,
    from: String(Math.floor(range.from)),
    until: String(Math.ceil(range.until)),
  });
  if (opts.maxNodes) p.set('maxNodes', String(opts.maxNodes));
  if (opts.groupBy) p.set('groupBy', opts.groupBy);
  // The compact binary form: a fifth of the JSON, decoded without JSON.parse
  // of the levels.
  p.set('format', 'binary');
  return decode(await (await request(`/pyroscope/render?${p}`)).arrayBuffer());
}

export async function renderDiff(
  left: { query: string; range: Range },
  right: { query: string; range: Range },
  maxNodes?: number,
): Promise<RenderResponse> {
  const p = new URLSearchParams({
    leftQuery: left.query,
    leftFrom: String(Math.floor(left.range.from)),
    leftUntil: String(Math.ceil(left.range.until)),
    rightQuery: right.query,
    rightFrom: String(Math.floor(right.range.from)),
    rightUntil: String(Math.ceil(right.range.until)),
  });
  if (maxNodes) p.set('maxNodes', String(maxNodes));
  return (await request(`/pyroscope/render-diff?${p}`)).json();
}

export interface Finding {
  category: string;
  title: string;
  functions: string[];
  path: string[];
  share: number;
  value: number;
  delta?: number;
  delta_share?: number;
  confidence: number;
  next_step: string;
}

export interface Explanation {
  sample_type: string;
  unit: string;
  total: number;
  baseline_total?: number;
  diff: boolean;
  findings: Finding[];
}

/** The built-in interpreter on a selection, or on the change from a baseline selection to it. */
export async function explain(
  selection: { query: string; range: Range },
  baseline?: { query: string; range: Range },
): Promise<Explanation> {
  const p = new URLSearchParams({
    query: selection.query,
    from: String(Math.floor(selection.range.from)),
    until: String(Math.ceil(selection.range.until)),
  });
  if (baseline) {
    p.set('baselineQuery', baseline.query);
    p.set('baselineFrom', String(Math.floor(baseline.range.from)));
    p.set('baselineUntil', String(Math.ceil(baseline.range.until)));
  }
  return (await request(`/api/v1/explain?${p}`)).json();
}

export async function profileTypes(): Promise<ProfileType[]> {
  const r = await connect<{ profileTypes?: ProfileType[] }>('ProfileTypes', {});
  return r.profileTypes ?? [];
}

export async function labelNames(matchers: string[], range?: Range): Promise<string[]> {
  const r = await connect<{ names?: string[] }>('LabelNames', {
    matchers,
    ...(range ? { start: String(range.from * 1000), end: String(range.until * 1000) } : {}),
  });
  return r.names ?? [];
}

export async function labelValues(name: string, matchers: string[], range?: Range): Promise<string[]> {
  const r = await connect<{ names?: string[] }>('LabelValues', {
    name,
    matchers,
    ...(range ? { start: String(range.from * 1000), end: String(range.until * 1000) } : {}),
  });
  return r.names ?? [];
}

export async function selectSeries(
  profileType: string,
  selector: string,
  range: Range,
  groupBy: string[],
  stepSeconds: number,
): Promise<Series[]> {
  const r = await connect<{ series?: Series[] }>('SelectSeries', {
    profileTypeID: profileType,
    labelSelector: selector,
    start: String(Math.floor(range.from * 1000)),
    end: String(Math.ceil(range.until * 1000)),
    groupBy,
    step: stepSeconds,
  });
  return r.series ?? [];
}

/** The merged profile as pprof protobuf bytes (SelectMergeProfile, proto codec). */
export async function mergedPprof(profileType: string, selector: string, range: Range): Promise<Uint8Array> {
  const body = encodeSelectMergeProfile(profileType, selector, range.from * 1000, range.until * 1000);
  const r = await request('/querier.v1.QuerierService/SelectMergeProfile', {
    method: 'POST',
    headers: { 'Content-Type': 'application/proto' },
    body: body as BodyInit,
  });
  return new Uint8Array(await r.arrayBuffer());
}

// SelectMergeProfileRequest: profile_typeID = 1, label_selector = 2,
// start = 3, end = 4 (int64 ms). Written by hand: four fields do not need a
// protobuf runtime in the page.
export function encodeSelectMergeProfile(type: string, selector: string, startMs: number, endMs: number): Uint8Array {
  const out: number[] = [];
  const varint = (v: bigint) => {
    let x = BigInt.asUintN(64, v);
    do {
      let b = Number(x & 0x7fn);
      x >>= 7n;
      if (x) b |= 0x80;
      out.push(b);
    } while (x);
  };
  const str = (field: number, s: string) => {
    const bytes = new TextEncoder().encode(s);
    out.push((field << 3) | 2);
    varint(BigInt(bytes.length));
    for (const b of bytes) out.push(b);
  };
  str(1, type);
  str(2, selector);
  out.push((3 << 3) | 0);
  varint(BigInt(Math.floor(startMs)));
  out.push((4 << 3) | 0);
  varint(BigInt(Math.ceil(endMs)));
  return new Uint8Array(out);
}
