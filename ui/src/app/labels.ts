// The label explorer: pick a label, see a time series per value and each
// value's share; click a value to open its flame graph.
import * as api from '../api';
import { formatValue } from '../flame';
import type { ViewContext, ViewHandle } from './app';
import { el } from './dom';
import { QueryBar } from './querybar';
import { completionSource } from './single';
import { fullQuery, type ViewState } from './state';
import { Table } from './table';
import { rangeOf } from './time';
import { TimeRange } from './timerange';
import { Timeline } from './timeline';

type ValueRow = { name: string; total: number; share: number };

/** Adds name="value" to a selector. */
export function withMatcher(selector: string, name: string, value: string): string {
  const m = `${name}="${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  const s = selector.trim();
  if (s === '' || s === '{}') return `{${m}}`;
  const inner = s.replace(/^\{/, '').replace(/\}$/, '').trim();
  return `{${inner}${inner ? ', ' : ''}${m}}`;
}

export function createLabelsView(parent: HTMLElement, ctx: ViewContext): ViewHandle {
  const root = el('div', { class: 'view labels', 'data-testid': 'view-labels' });
  parent.append(root);
  const controls = el('div', { class: 'controls' });
  root.append(controls);
  const labelSelect = el('select', { 'aria-label': 'Label', 'data-testid': 'label' });
  labelSelect.addEventListener('change', () => ctx.update({ label: labelSelect.value }));
  controls.append(el('label', { class: 'inline' }, 'Label ', labelSelect));
  const query = new QueryBar(controls, completionSource(ctx), (q) => ctx.update({ query: q }));
  const range = new TimeRange(controls, (from, until) => ctx.update({ from, until }));
  let units = 'samples';
  let sampleRate = 100;
  const fmt = (v: number) => formatValue(v, units, sampleRate);
  const timeline = new Timeline(root, (from, until) => ctx.update({ from: String(from), until: String(until) }), fmt, 220);
  timeline.element.dataset.testid = 'label-timeline';
  const tableBox = el('div', { class: 'pane' });
  root.append(tableBox);
  const table = new Table<ValueRow>(
    tableBox,
    [
      { key: 'name', title: 'Value', value: (r) => r.name },
      { key: 'total', title: 'Total', value: (r) => r.total, format: (r) => fmt(r.total), numeric: true },
      {
        key: 'share',
        title: 'Share',
        value: (r) => r.share,
        format: (r) => `${(100 * r.share).toFixed(2)}%`,
        numeric: true,
      },
    ],
    (r) => r.name,
    (r) =>
      ctx.update({
        view: 'single',
        query: withMatcher(ctx.state.query, ctx.state.label, r.name === '(none)' ? '' : r.name),
        focus: '',
      }),
    'total',
    'label-table',
  );

  let seq = 0;
  async function load(s: ViewState): Promise<void> {
    const mine = ++seq;
    query.value = s.query;
    range.set(s.from, s.until);
    const r = rangeOf(s.from, s.until, Date.now() / 1000);
    if (!r) return ctx.status.error(new Error(`bad time range: ${s.from} .. ${s.until}`));
    ctx.status.loading('the label breakdown');
    try {
      const names = (await api.labelNames([fullQuery(s.type, s.query)], r)).filter((n) => !n.startsWith('__'));
      labelSelect.replaceChildren(...names.map((n) => el('option', { value: n }, n)));
      const label = names.includes(s.label) ? s.label : names[0] ?? '';
      labelSelect.value = label;
      if (!label) {
        ctx.status.info('No labels for this selection.');
        return;
      }
      const type = ctx.types.find((t) => t.ID === s.type);
      const step = Math.max(10, Math.ceil((r.until - r.from) / 300));
      const [series, render] = await Promise.all([
        api.selectSeries(s.type, s.query, r, [label], step),
        api.render(fullQuery(s.type, s.query), r, { maxNodes: 1 }),
      ]);
      if (mine !== seq) return;
      ctx.status.clear();
      units = render.metadata.units;
      sampleRate = render.metadata.sampleRate;
      const rows: ValueRow[] = [];
      let all = 0;
      const chart = series.map((x) => {
        const value = x.labels?.find((l) => l.name === label)?.value ?? '(none)';
        const times = (x.points ?? []).map((p) => Number(p.timestamp) / 1000);
        const values = (x.points ?? []).map((p) => p.value);
        const total = values.reduce((a, b) => a + b, 0);
        all += total;
        rows.push({ name: value, total, share: 0 });
        return { label: value, times, values };
      });
      for (const row of rows) row.share = all > 0 ? row.total / all : 0;
      chart.sort((a, b) => b.values.reduce((x, y) => x + y, 0) - a.values.reduce((x, y) => x + y, 0));
      timeline.setData(chart.slice(0, 12), r);
      table.setRows(rows);
      if (rows.length === 0) ctx.status.info(`No data for ${type ? type.name : s.type} in this range.`);
    } catch (e) {
      if (mine === seq) ctx.status.error(e);
    }
  }
  void load(ctx.state);
  return {
    update(prev, next) {
      const keys: (keyof ViewState)[] = ['type', 'query', 'from', 'until', 'label'];
      if (keys.some((k) => prev[k] !== next[k])) void load(next);
      return true;
    },
    destroy() {
      timeline.destroy();
      root.remove();
    },
  };
}
