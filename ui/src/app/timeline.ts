// A time series chart of totals (uPlot) on which dragging selects a range.
// uPlot is loaded with the first chart, not with the page: its module sets up
// Intl number and date formats, which costs a fresh page tens of ms before
// the flame graph could be drawn.
import type uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

let uPlotClass: Promise<typeof uPlot> | null = null;
function loadUPlot(): Promise<typeof uPlot> {
  uPlotClass ??= import('uplot').then((m) => m.default);
  return uPlotClass;
}

export interface TimelineSeries {
  label: string;
  times: number[]; // unix seconds
  values: number[];
}

const PALETTE = ['#e8743b', '#3b82c4', '#19a979', '#945ecf', '#ed4a7b', '#13a4b4', '#bf399e', '#6c8893'];

export class Timeline {
  private plot: uPlot | null = null;
  private readonly el: HTMLElement;
  private seq = 0; // the latest setData; older ones still loading uPlot give way
  private destroyed = false;

  constructor(
    parent: HTMLElement,
    private readonly onSelect: (from: number, until: number) => void,
    private readonly format: (v: number) => string = String,
    private readonly height = 130,
  ) {
    this.el = document.createElement('div');
    this.el.className = 'timeline';
    parent.appendChild(this.el);
  }

  get element(): HTMLElement {
    return this.el;
  }

  /** Draws the series (resolves once drawn; a later call or destroy() wins). */
  async setData(series: TimelineSeries[], range: { from: number; until: number }): Promise<void> {
    const seq = ++this.seq;
    const UPlot = await loadUPlot();
    if (seq !== this.seq || this.destroyed) return;
    this.plot?.destroy();
    this.plot = null;
    this.el.replaceChildren();
    // uPlot wants one x array: the union of the series' times.
    const times = [...new Set(series.flatMap((s) => s.times))].sort((a, b) => a - b);
    const index = new Map(times.map((t, i) => [t, i]));
    const ys = series.map((s) => {
      const y: (number | null)[] = new Array(times.length).fill(null);
      s.times.forEach((t, i) => (y[index.get(t)!] = s.values[i]));
      return y;
    });
    const width = Math.max(300, this.el.clientWidth || this.el.parentElement?.clientWidth || 800);
    // Canvas strokes do not resolve CSS variables: read the theme's colours.
    const css = getComputedStyle(document.documentElement);
    const dim = css.getPropertyValue('--fg-dim').trim() || '#6b7385';
    const grid = css.getPropertyValue('--grid').trim() || 'rgba(0,0,0,0.07)';
    const opts: uPlot.Options = {
      width,
      height: this.height,
      scales: { x: { time: true, min: range.from, max: range.until } },
      legend: { show: series.length > 1 },
      cursor: { drag: { x: true, y: false, setScale: false } },
      axes: [
        { stroke: dim, grid: { stroke: grid }, ticks: { stroke: grid } },
        {
          stroke: dim,
          grid: { stroke: grid },
          ticks: { stroke: grid },
          size: 70,
          values: (_u, vals) => vals.map((v) => this.format(v)),
        },
      ],
      series: [
        {},
        ...series.map((s, i) => ({
          label: s.label,
          stroke: PALETTE[i % PALETTE.length],
          fill: series.length === 1 ? 'rgba(232,116,59,0.15)' : undefined,
          width: 1.5,
          spanGaps: false,
          value: (_u: uPlot, v: number | null) => (v === null ? '–' : this.format(v)),
        })),
      ],
      hooks: {
        setSelect: [
          (u) => {
            if (u.select.width < 3) return;
            const from = u.posToVal(u.select.left, 'x');
            const until = u.posToVal(u.select.left + u.select.width, 'x');
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            this.onSelect(Math.floor(from), Math.ceil(until));
          },
        ],
      },
    };
    this.plot = new UPlot(opts, [times, ...ys] as uPlot.AlignedData, this.el);
  }

  /** Selects [from, until) as if dragged (for keyboard use and tests). */
  select(from: number, until: number): void {
    this.onSelect(from, until);
  }

  resize(): void {
    if (this.plot) this.plot.setSize({ width: Math.max(300, this.el.clientWidth), height: this.height });
  }

  destroy(): void {
    this.destroyed = true;
    this.plot?.destroy();
    this.el.remove();
  }
}

/** A Pyroscope timeline object as chart series. */
export function timelineSeries(
  label: string,
  t: { startTime: number; samples: number[]; durationDelta: number } | undefined,
): TimelineSeries {
  if (!t) return { label, times: [], values: [] };
  return {
    label,
    times: t.samples.map((_, i) => t.startTime + i * t.durationDelta),
    values: t.samples,
  };
}
