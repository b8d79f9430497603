// Comparison (two selections side by side, each with its own timeline
// brush) and diff (one flame graph coloured by change, and the biggest
// changes). The left side is the state's query/from/until, the right side
// rquery/rfrom/runtil (defaulting to the left's).
import * as api from '../api';
import { FlameGraph, biggestChanges, formatValue, fromFlamebearer, type FlameModel } from '../flame';
import type { ViewContext, ViewHandle } from './app';
import { el, markDrawn } from './dom';
import { ExplainPanel } from './explain';
import { QueryBar } from './querybar';
import { completionSource } from './single';
import { fullQuery, type ViewState } from './state';
import { Table } from './table';
import { rangeOf } from './time';
import { TimeRange } from './timerange';
import { Timeline, timelineSeries } from './timeline';

interface SideState {
  query: string;
  from: string;
  until: string;
}

export function leftOf(s: ViewState): SideState {
  return { query: s.query, from: s.from, until: s.until };
}

export function rightOf(s: ViewState): SideState {
  return { query: s.rquery || s.query, from: s.rfrom || s.from, until: s.runtil || s.until };
}

function patchFor(side: 'left' | 'right', p: Partial<SideState>): Partial<ViewState> {
  if (side === 'left') return p;
  const out: Partial<ViewState> = {};
  if (p.query !== undefined) out.rquery = p.query;
  if (p.from !== undefined) out.rfrom = p.from;
  if (p.until !== undefined) out.runtil = p.until;
  return out;
}

/** The controls of one side: selector, range, timeline brush. */
class SideControls {
  readonly root: HTMLElement;
  readonly query: QueryBar;
  readonly range: TimeRange;
  readonly timeline: Timeline;
  units = 'samples';
  sampleRate = 100;

  constructor(parent: HTMLElement, ctx: ViewContext, readonly side: 'left' | 'right') {
    this.root = el('div', { class: `side side-${side}`, 'data-testid': `side-${side}` });
    parent.append(this.root);
    const title = side === 'left' ? 'Baseline (A)' : 'Comparison (B)';
    this.root.append(el('h3', {}, title));
    const controls = el('div', { class: 'controls' });
    this.root.append(controls);
    this.query = new QueryBar(controls, completionSource(ctx), (q) => ctx.update(patchFor(side, { query: q })), `query-${side}`);
    this.range = new TimeRange(controls, (from, until) => ctx.update(patchFor(side, { from, until })), `range-${side}`);
    this.timeline = new Timeline(
      this.root,
      (from, until) => ctx.update(patchFor(side, { from: String(from), until: String(until) })),
      (v) => formatValue(v, this.units, this.sampleRate),
      100,
    );
    this.timeline.element.dataset.testid = `timeline-${side}`;
  }

  set(s: SideState): void {
    this.query.value = s.query;
    this.range.set(s.from, s.until);
  }
}

function sideRange(s: SideState) {
  return rangeOf(s.from, s.until, Date.now() / 1000);
}

export function createCompareView(parent: HTMLElement, ctx: ViewContext): ViewHandle {
  const root = el('div', { class: 'view compare', 'data-testid': 'view-compare' });
  parent.append(root);
  const cols = el('div', { class: 'columns' });
  root.append(cols);
  const sides = (['left', 'right'] as const).map((side) => {
    const controls = new SideControls(cols, ctx, side);
    const box = el('div', { class: 'flame-pane', 'data-testid': `flame-${side}` });
    controls.root.append(box);
    const total = el('div', { class: 'dim total', 'data-testid': `total-${side}` });
    controls.root.insertBefore(total, box);
    const flame = new FlameGraph(box, { units: 'samples', sampleRate: 100, theme: ctx.state.theme });
    return { side, controls, flame, total, box, seq: 0 };
  });

  async function load(which: (typeof sides)[number], s: ViewState): Promise<void> {
    const seq = ++which.seq;
    const st = which.side === 'left' ? leftOf(s) : rightOf(s);
    which.controls.set(st);
    const r = sideRange(st);
    if (!r) return ctx.status.error(new Error(`bad time range: ${st.from} .. ${st.until}`));
    ctx.status.loading('the profiles');
    try {
      const res = await api.render(fullQuery(s.type, st.query), r, { maxNodes: s.maxNodes || undefined });
      if (seq !== which.seq) return;
      ctx.status.clear();
      const model = res.model ?? fromFlamebearer(res.flamebearer, 'single');
      which.controls.units = res.metadata.units;
      which.controls.sampleRate = res.metadata.sampleRate;
      which.flame.setUnits?.(res.metadata.units, res.metadata.sampleRate);
      which.flame.setModel(model);
      which.flame.setSearch(s.search);
      which.flame.redraw();
      markDrawn(which.box, model);
      which.total.textContent = `Total: ${formatValue(model.numTicks, res.metadata.units, res.metadata.sampleRate)}`;
      which.controls.timeline.setData([timelineSeries(which.side, res.timeline)], r);
    } catch (e) {
      if (seq === which.seq) ctx.status.error(e);
    }
  }
  for (const side of sides) void load(side, ctx.state);

  return {
    update(prev, next) {
      for (const side of sides) {
        const a = side.side === 'left' ? leftOf(prev) : rightOf(prev);
        const b = side.side === 'left' ? leftOf(next) : rightOf(next);
        if (prev.type !== next.type || prev.maxNodes !== next.maxNodes || JSON.stringify(a) !== JSON.stringify(b)) {
          void load(side, next);
        } else {
          side.flame.setTheme(next.theme);
          side.flame.setSearch(next.search);
          side.flame.redraw();
        }
      }
      return true;
    },
    destroy() {
      for (const s of sides) {
        s.flame.destroy();
        s.controls.timeline.destroy();
      }
      root.remove();
    },
  };
}

type ChangeRow = { name: string; left: number; right: number; change: number };

export function createDiffView(parent: HTMLElement, ctx: ViewContext): ViewHandle {
  const root = el('div', { class: 'view diff', 'data-testid': 'view-diff' });
  parent.append(root);
  const cols = el('div', { class: 'columns' });
  root.append(cols);
  const controls = [new SideControls(cols, ctx, 'left'), new SideControls(cols, ctx, 'right')];
  const legend = el(
    'div',
    { class: 'diff-legend' },
    el('span', { class: 'swatch shrank' }),
    'shrank (B smaller than A, by share of total)',
    el('span', { class: 'swatch same' }),
    'unchanged',
    el('span', { class: 'swatch grew' }),
    'grew',
  );
  const summary = el('span', { class: 'dim', 'data-testid': 'diff-summary' });
  const explain = new ExplainPanel(
    root,
    () => {
      const l = leftOf(ctx.state);
      const r = rightOf(ctx.state);
      const lr = sideRange(l);
      const rr = sideRange(r);
      if (!lr || !rr) return null;
      // B is the selection, A the baseline.
      return {
        selection: { query: fullQuery(ctx.state.type, r.query), range: rr },
        baseline: { query: fullQuery(ctx.state.type, l.query), range: lr },
      };
    },
    (name) => ctx.update({ search: name }, { replace: true }),
  );
  root.insertBefore(el('div', { class: 'toolbar' }, legend, el('span', { class: 'spacer' }), summary, explain.button), root.lastChild);
  const panes = el('div', { class: 'panes' });
  const tablePane = el('div', { class: 'pane table-pane' });
  const flamePane = el('div', { class: 'pane flame-pane', 'data-testid': 'flame-diff' });
  panes.append(tablePane, flamePane);
  root.append(panes);
  let units = 'samples';
  let sampleRate = 100;
  const fmt = (v: number) => formatValue(v, units, sampleRate);
  const table = new Table<ChangeRow>(
    tablePane,
    [
      { key: 'name', title: 'Function', value: (r) => r.name },
      { key: 'left', title: 'A (self)', value: (r) => r.left, format: (r) => fmt(r.left), numeric: true },
      { key: 'right', title: 'B (self)', value: (r) => r.right, format: (r) => fmt(r.right), numeric: true },
      {
        key: 'change',
        title: 'Change',
        value: (r) => Math.abs(r.change),
        format: (r) => `${r.change > 0 ? '+' : ''}${(100 * r.change).toFixed(2)} pp`,
        numeric: true,
        className: (r) => (r.change > 0 ? 'grew' : r.change < 0 ? 'shrank' : ''),
      },
    ],
    (r) => r.name,
    (r) => ctx.update({ search: r.name }, { replace: true }),
    'change',
    'diff-table',
  );
  const flame = new FlameGraph(flamePane, { units: 'samples', sampleRate: 100, theme: ctx.state.theme });
  flame.setColorMode('diff');
  let model: FlameModel | null = null;
  let seq = 0;

  async function load(s: ViewState): Promise<void> {
    const mine = ++seq;
    const l = leftOf(s);
    const r = rightOf(s);
    controls[0].set(l);
    controls[1].set(r);
    const lr = sideRange(l);
    const rr = sideRange(r);
    if (!lr || !rr) return ctx.status.error(new Error('bad time range'));
    ctx.status.loading('the diff');
    try {
      const res = await api.renderDiff(
        { query: fullQuery(s.type, l.query), range: lr },
        { query: fullQuery(s.type, r.query), range: rr },
        s.maxNodes || undefined,
      );
      if (mine !== seq) return;
      ctx.status.clear();
      units = res.metadata.units;
      sampleRate = res.metadata.sampleRate;
      for (const c of controls) {
        c.units = units;
        c.sampleRate = sampleRate;
      }
      model = fromFlamebearer(res.flamebearer, 'double', res.leftTicks ?? 0, res.rightTicks ?? 0);
      flame.setUnits?.(units, sampleRate);
      flame.setModel(model);
      flame.setSearch(s.search);
      flame.redraw();
      markDrawn(flamePane, model);
      summary.textContent = `A: ${fmt(res.leftTicks ?? 0)} · B: ${fmt(res.rightTicks ?? 0)}`;
      table.setRows(
        biggestChanges(model, 2000).map((c) => ({ name: c.name, left: c.leftSelf, right: c.rightSelf, change: c.change })),
      );
      controls[0].timeline.setData([timelineSeries('A', res.leftTimeline)], lr);
      controls[1].timeline.setData([timelineSeries('B', res.rightTimeline)], rr);
    } catch (e) {
      if (mine === seq) ctx.status.error(e);
    }
  }
  void load(ctx.state);
  return {
    update(prev, next) {
      const keys: (keyof ViewState)[] = ['type', 'query', 'from', 'until', 'rquery', 'rfrom', 'runtil', 'maxNodes'];
      if (keys.some((k) => prev[k] !== next[k])) {
        void load(next);
        explain.refresh();
      } else {
        flame.setTheme(next.theme);
        flame.setSearch(next.search);
        flame.redraw();
      }
      return true;
    },
    destroy() {
      flame.destroy();
      for (const c of controls) c.timeline.destroy();
      root.remove();
    },
  };
}
