// The view state, all of it in the URL: a link reopens exactly the same view.

export type View = 'single' | 'compare' | 'diff' | 'labels';
export type Layout = 'both' | 'flame' | 'table';

export interface ViewState {
  view: View;
  type: string; // profile type ID
  query: string; // label selector, e.g. {service_name="api"}
  from: string; // "now-1h", unix seconds, ...
  until: string;
  // The second selection (comparison and diff).
  rquery: string;
  rfrom: string;
  runtil: string;
  layout: Layout;
  search: string;
  focus: string; // the focused frame as a root-first path "a;b;c", "" for none
  sandwich: string; // function of the sandwich view, "" for none
  label: string; // label explorer: the label
  theme: 'light' | 'dark';
  maxNodes: number;
}

export const DEFAULTS: ViewState = {
  view: 'single',
  type: '',
  query: '{}',
  from: 'now-1h',
  until: 'now',
  rquery: '',
  rfrom: '',
  runtil: '',
  layout: 'both',
  search: '',
  focus: '',
  sandwich: '',
  label: 'service_name',
  theme: 'light',
  maxNodes: 0,
};

const KEYS = Object.keys(DEFAULTS) as (keyof ViewState)[];

export function parseState(search: string): ViewState {
  const p = new URLSearchParams(search);
  const s: ViewState = { ...DEFAULTS };
  for (const k of KEYS) {
    const v = p.get(k);
    if (v === null) continue;
    if (k === 'maxNodes') s.maxNodes = Math.max(0, parseInt(v, 10) || 0);
    else (s as unknown as Record<string, string>)[k] = v;
  }
  if (!['single', 'compare', 'diff', 'labels'].includes(s.view)) s.view = 'single';
  if (!['both', 'flame', 'table'].includes(s.layout)) s.layout = 'both';
  if (s.theme !== 'dark') s.theme = 'light';
  return s;
}

/** Only what differs from the defaults, in a stable order. */
export function formatState(s: ViewState): string {
  const p = new URLSearchParams();
  for (const k of KEYS) {
    if (s[k] !== DEFAULTS[k]) p.set(k, String(s[k]));
  }
  const q = p.toString();
  return q ? `?${q}` : '';
}

/** The full query of a side: type + selector. */
export function fullQuery(type: string, selector: string): string {
  const sel = selector.trim() || '{}';
  return type + (sel.startsWith('{') ? sel : `{${sel}}`);
}
