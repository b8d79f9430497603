// Autocompletion of label selectors ({name="value", ...}): what the cursor
// is on, and the text after a completion is chosen. Pure functions.

export type CompletionContext =
  | { kind: 'name'; prefix: string; start: number; end: number }
  | { kind: 'value'; label: string; prefix: string; start: number; end: number };

const NAME = /[A-Za-z0-9_.]/;

export function completionContext(text: string, cursor: number): CompletionContext | null {
  const open = text.lastIndexOf('{', cursor - 1);
  if (open < 0) return null;
  const close = text.indexOf('}', open);
  if (close >= 0 && close < cursor) return null;
  // Inside a quoted value?
  let inQuote = false;
  let quoteStart = -1;
  for (let i = open + 1; i < cursor; i++) {
    const c = text[i];
    if (c === '\\' && inQuote) {
      i++;
      continue;
    }
    if (c === '"') {
      inQuote = !inQuote;
      quoteStart = i;
    }
  }
  if (inQuote) {
    // name<op>"prefix|
    const before = text.slice(open + 1, quoteStart);
    const m = /([A-Za-z_][A-Za-z0-9_.]*)\s*(=~|!~|!=|=)\s*$/.exec(before);
    if (!m) return null;
    let end = cursor;
    while (end < text.length && text[end] !== '"') end++;
    return { kind: 'value', label: m[1], prefix: text.slice(quoteStart + 1, cursor), start: quoteStart + 1, end };
  }
  // A label name being typed: after '{' or ',' and optional spaces.
  let start = cursor;
  while (start > open + 1 && NAME.test(text[start - 1])) start--;
  const lead = text.slice(open + 1, start).trimEnd();
  if (lead !== '' && !lead.endsWith(',')) {
    // After an operator with no quote yet: a value starting.
    const m = /([A-Za-z_][A-Za-z0-9_.]*)\s*(=~|!~|!=|=)\s*$/.exec(text.slice(open + 1, cursor));
    if (m) return { kind: 'value', label: m[1], prefix: '', start: cursor, end: cursor };
    return null;
  }
  let end = cursor;
  while (end < text.length && NAME.test(text[end])) end++;
  return { kind: 'name', prefix: text.slice(start, cursor), start, end };
}

/** Filters and orders candidates: prefix matches first, then substring. */
export function rankCandidates(candidates: string[], prefix: string, max = 50): string[] {
  const p = prefix.toLowerCase();
  const starts: string[] = [];
  const contains: string[] = [];
  for (const c of candidates) {
    const l = c.toLowerCase();
    if (l.startsWith(p)) starts.push(c);
    else if (p && l.includes(p)) contains.push(c);
  }
  return [...starts, ...contains].slice(0, max);
}

function escapeValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
}

export function applyCompletion(
  text: string,
  ctx: CompletionContext,
  choice: string,
): { text: string; cursor: number } {
  if (ctx.kind === 'name') {
    const insert = `${choice}="`;
    const rest = text.slice(ctx.end);
    const t = text.slice(0, ctx.start) + insert + rest;
    return { text: t, cursor: ctx.start + insert.length };
  }
  // Value: inside quotes (start..end is the quoted content) or right after the operator.
  const quoted = text[ctx.start - 1] === '"';
  if (quoted) {
    const after = text.slice(ctx.end);
    const closing = after.startsWith('"') ? '' : '"';
    const t = text.slice(0, ctx.start) + escapeValue(choice) + closing + after;
    return { text: t, cursor: ctx.start + escapeValue(choice).length + 1 };
  }
  const insert = `"${escapeValue(choice)}"`;
  const t = text.slice(0, ctx.start) + insert + text.slice(ctx.end);
  return { text: t, cursor: ctx.start + insert.length };
}
