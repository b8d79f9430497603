// The single view: query bar, time range, timeline (drag to zoom in time),
// flame graph and top table side by side, search, focus, sandwich, export.
import * as api from '../api';
import { FlameGraph, formatValue, fromFlamebearer, sandwich, topTable, type FlameModel } from '../flame';
import type { ViewContext, ViewHandle } from './app';
import { afterNextFrame, el, markDrawn } from './dom';
import { exportMenu } from './export';
import { ExplainPanel } from './explain';
import { findPath, nodePath } from './paths';
import { QueryBar } from './querybar';
import { fullQuery, type ViewState } from './state';
import { Table } from './table';
import { rangeOf } from './time';
import { TimeRange } from './timerange';
import { Timeline, timelineSeries } from './timeline';

type TopRow = { name: string; self: number; total: number };

/** The query bar's completions for a profile type. */
export function completionSource(ctx: ViewContext) {
  return {
    names: () => api.labelNames([fullQuery(ctx.state.type, '{}')]),
    values: (label: string) => api.labelValues(label, [fullQuery(ctx.state.type, '{}')]),
  };
}

export function createSingleView(parent: HTMLElement, ctx: ViewContext): ViewHandle {
  const root = el('div', { class: 'view single', 'data-testid': 'view-single' });
  parent.append(root);
  const controls = el('div', { class: 'controls' });
  root.append(controls);
  const query = new QueryBar(controls, completionSource(ctx), (sel) => ctx.update({ query: sel, focus: '', sandwich: '' }));
  // Its date inputs are set up once the first flame graph is on screen.
  const range = new TimeRange(controls, (from, until) => ctx.update({ from, until }), 'range', false);
  let response: api.RenderResponse | null = null;
  let model: FlameModel | null = null;
  const exportButton = exportMenu(controls, () => ({
    model,
    response,
    state: ctx.state,
    flame,
  }));
  const timeline = new Timeline(root, (from, until) => ctx.update({ from: String(from), until: String(until) }), (v) =>
    response ? formatValue(v, response.metadata.units, response.metadata.sampleRate) : String(v),
  );
  timeline.element.dataset.testid = 'timeline';

  const toolbar = el('div', { class: 'toolbar' });
  const layoutButtons = el('div', { class: 'segmented', role: 'group', 'aria-label': 'Layout' });
  for (const [id, title] of [['both', 'Both'], ['flame', 'Flame graph'], ['table', 'Table']] as const) {
    const b = el('button', { 'data-layout': id }, title);
    b.addEventListener('click', () => ctx.update({ layout: id }, { replace: true }));
    layoutButtons.append(b);
  }
  const search = el('input', { type: 'search', placeholder: 'Search frames (/)', 'data-testid': 'search', 'aria-label': 'Search' });
  search.addEventListener('input', () => ctx.update({ search: search.value }, { replace: true }));
  const matches = el('span', { class: 'dim', 'data-testid': 'matches' });
  const reset = el('button', { 'data-testid': 'reset', title: 'Reset the zoom (Esc)' }, 'Reset zoom');
  reset.addEventListener('click', () => ctx.update({ focus: '' }));
  const truncation = el('span', { class: 'dim truncation', 'data-testid': 'truncation' });
  const explain = new ExplainPanel(
    root,
    () => {
      const r = rangeOf(ctx.state.from, ctx.state.until, Date.now() / 1000);
      return r ? { selection: { query: fullQuery(ctx.state.type, ctx.state.query), range: r } } : null;
    },
    (name) => ctx.update({ search: name }, { replace: true }),
  );
  toolbar.append(layoutButtons, search, matches, reset, el('span', { class: 'spacer' }), truncation, explain.button, exportButton);
  root.insertBefore(toolbar, root.lastChild);

  const panes = el('div', { class: 'panes' });
  const tablePane = el('div', { class: 'pane table-pane' });
  const flamePane = el('div', { class: 'pane flame-pane', 'data-testid': 'flame' });
  panes.append(tablePane, flamePane);
  root.append(panes);
  const sandwichPane = el('div', { class: 'sandwich', 'data-testid': 'sandwich', hidden: '' });
  root.append(sandwichPane);

  const fmt = (v: number) => (response ? formatValue(v, response.metadata.units, response.metadata.sampleRate) : String(v));
  const pct = (v: number) => (model && model.numTicks > 0 ? `${((100 * v) / model.numTicks).toFixed(2)}%` : '');
  const table = new Table<TopRow>(
    tablePane,
    [
      { key: 'name', title: 'Function', value: (r) => r.name },
      { key: 'self', title: 'Self', value: (r) => r.self, format: (r) => `${fmt(r.self)}  ${pct(r.self)}`, numeric: true },
      { key: 'total', title: 'Total', value: (r) => r.total, format: (r) => `${fmt(r.total)}  ${pct(r.total)}`, numeric: true },
    ],
    (r) => r.name,
    (r) => ctx.update({ search: r.name }, { replace: true }),
    'self',
    'top-table',
  );

  const flame = new FlameGraph(flamePane, {
    units: 'samples',
    sampleRate: 100,
    theme: ctx.state.theme,
    onFocusChange: (node) => ctx.update({ focus: node === null || !model ? '' : nodePath(model, node) }),
    onSandwich: (name) => ctx.update({ sandwich: name }),
  });
  let sandwichGraphs: FlameGraph[] = [];

  let loadSeq = 0;
  let drawSeq = 0;
  async function load(s: ViewState): Promise<void> {
    const seq = ++loadSeq;
    const r = rangeOf(s.from, s.until, Date.now() / 1000);
    if (!r) {
      range.upgrade();
      ctx.reveal();
      ctx.status.error(new Error(`bad time range: ${s.from} .. ${s.until}`));
      return;
    }
    ctx.status.loading('the profile');
    try {
      performance.mark('load-start');
      const q = fullQuery(s.type, s.query);
      const res =
        (await api.takePrefetched(q, s.from, s.until, s.maxNodes)) ??
        (await api.render(q, r, { maxNodes: s.maxNodes || undefined }));
      if (seq !== loadSeq) return;
      ctx.reveal();
      const dataInHand = performance.now();
      performance.mark('data-in-hand');
      response = res;
      model = res.model ?? fromFlamebearer(res.flamebearer, 'single');
      performance.mark('model');
      ctx.status.clear();
      if (model.numTicks === 0) ctx.status.info('No data for this selection and time range. Widen the range or change the selector.');
      flame.setUnits?.(res.metadata.units, res.metadata.sampleRate);
      flame.setModel(model);
      truncation.textContent = res.truncation && res.truncation.foldedNodes > 0
        ? `${res.truncation.foldedNodes.toLocaleString()} small nodes folded into "other" (${pct(res.truncation.foldedValue)})`
        : '';
      applyView(s, true);
      flamePane.dataset.renderMs = String(performance.now() - dataInHand);
      flamePane.dataset.decoder = res.decoder ?? 'json';
      markDrawn(flamePane, model);
      flamePane.dataset.modelDraws = String(flame.modelDraws);
      // The table and the timeline chart once the flame graph is on screen.
      afterNextFrame(() => {
        range.upgrade();
        if (seq !== loadSeq) return;
        updateTable(ctx.state);
        timeline.setData([timelineSeries('total', res.timeline)], r);
      });
    } catch (e) {
      range.upgrade();
      ctx.reveal();
      if (seq === loadSeq) ctx.status.error(e);
    }
  }

  // What the flame graph shows, to redraw only on a change (each setter draws).
  // The flame graph was built with the current theme.
  const shown = { theme: ctx.state.theme as string, search: '', focus: null as number | null, model: null as FlameModel | null, sandwich: '' };
  let tableModel: FlameModel | null = null;
  function updateTable(s: ViewState): void {
    if (!model || s.layout === 'flame' || tableModel === model) return;
    tableModel = model;
    table.setRows(topTable(model));
  }

  /** Shows the panes of the layout; true if it changed. */
  function applyLayout(s: ViewState): boolean {
    for (const b of layoutButtons.querySelectorAll('button')) {
      b.classList.toggle('active', (b as HTMLElement).dataset.layout === s.layout);
    }
    const changed = panes.dataset.layout !== s.layout;
    panes.dataset.layout = s.layout;
    tablePane.hidden = s.layout === 'flame';
    flamePane.hidden = s.layout === 'table';
    return changed;
  }

  function applyView(s: ViewState, deferTable = false): void {
    const layoutChanged = applyLayout(s);
    if (search.value !== s.search) search.value = s.search;
    let drew = false;
    if (shown.theme !== s.theme) {
      flame.setTheme(s.theme);
      shown.theme = s.theme;
      drew = true;
    }
    if (model) {
      const fresh = shown.model !== model;
      if (fresh) {
        shown.model = model;
        shown.focus = null; // setModel resets the zoom
      }
      // setModel keeps the search; the counts need setSearch (one more draw).
      if ((fresh && s.search !== '') || shown.search !== s.search) {
        const m = flame.setSearch(s.search);
        shown.search = s.search;
        matches.textContent = s.search
          ? `${m.matches} matches · ${fmt(m.value)} · ${(100 * m.share).toFixed(2)}% of total`
          : '';
        drew = true;
      }
      const node = s.focus ? findPath(model, s.focus) : null;
      if (node !== shown.focus) {
        flame.focus(node);
        shown.focus = node;
        drew = true;
      }
    }
    if (layoutChanged && !drew) flame.redraw();
    if (shown.sandwich !== s.sandwich || (s.sandwich && shown.model !== sandwichModel)) renderSandwich(s);
    if (!deferTable) updateTable(s);
    flamePane.dataset.drawMs = String(flame.lastDrawMs);
    flamePane.dataset.drawSeq = String(++drawSeq);
  }

  let sandwichModel: FlameModel | null = null;
  function renderSandwich(s: ViewState): void {
    shown.sandwich = s.sandwich;
    sandwichModel = model;
    for (const g of sandwichGraphs) g.destroy();
    sandwichGraphs = [];
    sandwichPane.replaceChildren();
    sandwichPane.hidden = !s.sandwich || !model;
    if (!s.sandwich || !model || !response) return;
    const sw = sandwich(model, s.sandwich);
    const close = el('button', { title: 'Close the sandwich view' }, 'Close');
    close.addEventListener('click', () => ctx.update({ sandwich: '' }));
    sandwichPane.append(el('div', { class: 'sandwich-head' }, el('h3', {}, `Sandwich: ${s.sandwich}`), close));
    for (const [title, m, id] of [['Callers', sw.callers, 'callers'], ['Callees', sw.callees, 'callees']] as const) {
      const box = el('div', { class: 'sandwich-part', 'data-testid': `sandwich-${id}` });
      sandwichPane.append(el('h4', {}, title), box);
      const g = new FlameGraph(box, {
        units: response.metadata.units,
        sampleRate: response.metadata.sampleRate,
        theme: s.theme,
        onSandwich: (name) => ctx.update({ sandwich: name }),
      });
      g.setModel(m);
      g.redraw();
      sandwichGraphs.push(g);
    }
  }

  query.value = ctx.state.query;
  range.set(ctx.state.from, ctx.state.until);
  // The panes take their final widths before the first model arrives, so
  // the flame graph is drawn once, at its size.
  applyLayout(ctx.state);
  void load(ctx.state);

  const dataKeys: (keyof ViewState)[] = ['type', 'query', 'from', 'until', 'maxNodes'];
  return {
    update(prev, next) {
      query.value = next.query;
      range.set(next.from, next.until);
      if (dataKeys.some((k) => prev[k] !== next[k])) {
        void load(next);
        explain.refresh();
      } else {
        applyView(next);
      }
      return true;
    },
    destroy() {
      flame.destroy();
      for (const g of sandwichGraphs) g.destroy();
      timeline.destroy();
      root.remove();
    },
    onKey(e) {
      if (e.key === 'Escape') {
        if (ctx.state.sandwich) ctx.update({ sandwich: '' });
        else ctx.update({ focus: '' });
        return true;
      }
      const layouts: Record<string, ViewState['layout']> = { f: 'flame', b: 'both', l: 'table' };
      if (layouts[e.key]) {
        ctx.update({ layout: layouts[e.key] }, { replace: true });
        return true;
      }
      if (e.key === 's' && ctx.state.focus) {
        const parts = ctx.state.focus.split(';');
        ctx.update({ sandwich: parts[parts.length - 1] });
        return true;
      }
      return false;
    },
  };
}
