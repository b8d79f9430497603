// FlameGraph against a minimal fake DOM and a recording 2D context: checks
// what gets painted and how input is handled. Real rendering is covered by
// the end-to-end tests in Chromium.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FlameGraph } from './render';
import { fromFlamebearer, fromFolded } from './model';
import { layoutFlame, RectList } from './layout';
import { paletteCss, nodeColors } from './color';
import { doubleFb } from './testdata';

type Listener = (e: unknown) => void;

class FakeTarget {
  listeners = new Map<string, Listener[]>();
  addEventListener(t: string, f: Listener) {
    this.listeners.set(t, [...(this.listeners.get(t) ?? []), f]);
  }
  removeEventListener(t: string, f: Listener) {
    this.listeners.set(t, (this.listeners.get(t) ?? []).filter((g) => g !== f));
  }
  fire(t: string, e: Record<string, unknown> = {}) {
    const ev = { target: this, preventDefault: vi.fn(), button: 0, ...e };
    for (const f of this.listeners.get(t) ?? []) f(ev);
    return ev;
  }
}

interface Op {
  op: string;
  args: unknown[];
  style: string;
}

class FakeCtx {
  ops: Op[] = [];
  fillStyle = '';
  font = '';
  textBaseline = '';
  setTransform() {}
  fillRect(...args: number[]) {
    this.ops.push({ op: 'fillRect', args, style: this.fillStyle });
  }
  fillText(...args: unknown[]) {
    this.ops.push({ op: 'fillText', args, style: this.fillStyle });
  }
  measureText(s: string) {
    return { width: 7 * s.length };
  }
}

class FakeEl extends FakeTarget {
  style: Record<string, string> = {};
  children: FakeEl[] = [];
  parent: FakeEl | null = null;
  className = '';
  tabIndex = -1;
  textContent = '';
  type = '';
  width = 0;
  height = 0;
  offsetLeft = 0;
  offsetTop = 0;
  offsetWidth = 120;
  offsetHeight = 50;
  clientWidth = 0;
  clientHeight = 400;
  scrollLeft = 0;
  scrollTop = 0;
  ctx = new FakeCtx();
  constructor(public tag: string) {
    super();
  }
  getContext() {
    return this.tag === 'canvas' ? this.ctx : null;
  }
  setAttribute() {}
  append(...c: (FakeEl | string)[]) {
    for (const x of c) {
      if (typeof x !== 'string') this.appendChild(x);
      else this.appendChild(Object.assign(new FakeEl('#text'), { textContent: x }));
    }
  }
  appendChild(c: FakeEl) {
    c.parent = this;
    this.children.push(c);
    return c;
  }
  replaceChildren(...c: FakeEl[]) {
    this.children = [];
    this.append(...c);
  }
  remove() {
    if (this.parent) this.parent.children = this.parent.children.filter((x) => x !== this);
    this.parent = null;
  }
  contains(x: unknown): boolean {
    return x === this || this.children.some((c) => c.contains(x));
  }
  text(): string {
    return this.textContent + this.children.map((c) => c.text()).join('');
  }
}

let doc: FakeEl & { createElement(t: string): FakeEl; body: FakeEl; activeElement: unknown };
let win: FakeTarget & { devicePixelRatio: number };
let writeText: ReturnType<typeof vi.fn>;

beforeEach(() => {
  doc = Object.assign(new FakeEl('document'), {
    createElement: (t: string) => new FakeEl(t),
    body: new FakeEl('body'),
    activeElement: null,
  });
  win = Object.assign(new FakeTarget(), { devicePixelRatio: 2 });
  writeText = vi.fn(() => Promise.resolve());
  vi.stubGlobal('document', doc);
  vi.stubGlobal('window', win);
  vi.stubGlobal('navigator', { clipboard: { writeText } });
  vi.stubGlobal('getComputedStyle', () => ({ position: 'static' }));
  vi.stubGlobal('ResizeObserver', undefined);
});
afterEach(() => vi.unstubAllGlobals());

function setup(opts: Partial<ConstructorParameters<typeof FlameGraph>[1]> = {}) {
  const container = new FakeEl('div');
  container.clientWidth = 1000;
  const g = new FlameGraph(container as unknown as HTMLElement, { units: 'samples', sampleRate: 100, ...opts });
  const [canvas, tip, menu] = container.children;
  return { g, container, canvas, tip, menu, ctx: canvas.ctx };
}

// total 100: main 80: a 50 (self 30): b 20; c 30; idle 20
const m = fromFolded('main;a 30\nmain;a;b 20\nmain;c 30\nidle 20\n');
const find = (name: string) => [...Array(m.count).keys()].find((i) => m.names[m.name[i]] === name)!;

describe('FlameGraph', () => {
  it('creates canvas, tooltip and menu and sizes for DPR', () => {
    const { g, container, canvas, tip, menu } = setup();
    expect(container.style.position).toBe('relative');
    expect([canvas.tag, tip.className, menu.className]).toEqual(['canvas', 'flame-tooltip', 'flame-menu']);
    g.setModel(m);
    expect(canvas.style.width).toBe('1000px');
    expect(canvas.style.height).toBe(`${4 * 18}px`);
    expect([canvas.width, canvas.height]).toEqual([2000, 4 * 18 * 2]);
    expect(g.lastDrawMs).toBeGreaterThanOrEqual(0);
  });

  it('paints every laid-out bar once, batched by colour, with labels', () => {
    const { g, ctx } = setup();
    g.setModel(m);
    const rects = ctx.ops.filter((o) => o.op === 'fillRect').slice(1); // [0] is the background
    expect(rects).toHaveLength(layoutFlame(m, { width: 1000, focus: null }, new RectList()).n);
    // fillStyle changes only between colour groups.
    const groups = rects.map((o) => o.style).filter((s, i, a) => i === 0 || a[i - 1] !== s);
    expect(new Set(groups).size).toBe(groups.length);
    // The bar of "b": x 500, row 3, 1 px gap right and below.
    expect(rects.map((o) => o.args)).toContainEqual([500, 54, 199, 17]);
    const palette = paletteCss(nodeColors(m, 'package').entries, 'light').normal;
    const idsB = nodeColors(m, 'package').ids[find('b')];
    expect(rects.find((o) => o.args[0] === 500 && o.args[1] === 54)!.style).toBe(palette[idsB]);
    const labels = ctx.ops.filter((o) => o.op === 'fillText').map((o) => o.args[0]);
    expect(labels.sort()).toEqual(['a', 'b', 'c', 'idle', 'main', 'total']);
  });

  it('truncates labels of narrow bars', () => {
    const { g, ctx } = setup();
    g.setModel(fromFolded('averyveryverylongfunctionname 10\nx 90\n'));
    const labels = ctx.ops.filter((o) => o.op === 'fillText').map((o) => o.args[0] as string);
    const cut = labels.find((l) => l.startsWith('avery'))!;
    expect(cut.endsWith('…')).toBe(true);
    expect(7 * cut.length).toBeLessThanOrEqual(100 - 6); // 10% of 1000 px minus padding
  });

  it('dims non-matching bars when searching', () => {
    const { g, ctx } = setup();
    g.setModel(m);
    ctx.ops = [];
    const r = g.setSearch(' B ');
    expect(r).toEqual({ matches: 1, value: 20, share: 0.2 });
    const { normal, dimmed } = paletteCss(nodeColors(m, 'package').entries, 'light');
    const ids = nodeColors(m, 'package').ids;
    const styleAt = (x: number, y: number) =>
      ctx.ops.find((o) => o.op === 'fillRect' && o.args[0] === x && o.args[1] === y)!.style;
    expect(styleAt(500, 54)).toBe(normal[ids[find('b')]]);
    expect(styleAt(200, 36)).toBe(dimmed[ids[find('a')]]);
    expect(styleAt(700, 36)).toBe(dimmed[ids[find('c')]]);
    expect(g.setSearch('')).toEqual({ matches: 0, value: 0, share: 0 });
  });

  it('focuses on click, resets on root click and Escape', () => {
    const onFocusChange = vi.fn();
    const { g, canvas } = setup({ onFocusChange });
    g.setModel(m);
    canvas.fire('click', { offsetX: 600, offsetY: 40 }); // a
    expect(g.focused).toBe(find('a'));
    expect(onFocusChange).toHaveBeenLastCalledWith(find('a'));
    expect(g.hitTest(900, 60)).toBe(find('b')); // zoomed: b spans 600..1000
    canvas.fire('click', { offsetX: 5, offsetY: 5 }); // root
    expect(g.focused).toBeNull();
    expect(onFocusChange).toHaveBeenLastCalledWith(null);
    canvas.fire('click', { offsetX: 800, offsetY: 40 }); // c
    canvas.fire('mouseenter');
    win.fire('keydown', { key: 'Escape' });
    expect(g.focused).toBeNull();
    expect(onFocusChange).toHaveBeenCalledTimes(4);
    g.focus(find('c')); // programmatic: no callback
    expect(onFocusChange).toHaveBeenCalledTimes(4);
    g.resetFocus();
    expect(g.focused).toBeNull();
  });

  it('shows a unit-aware tooltip', () => {
    const { g, canvas, tip } = setup();
    g.setModel(m);
    canvas.fire('mousemove', { offsetX: 600, offsetY: 40 });
    expect(tip.style.display).toBe('block');
    expect(tip.text()).toBe('aTotal: 500 ms (50%)Self: 300 ms (30%)');
    canvas.fire('mousemove', { offsetX: 600, offsetY: 300 });
    expect(tip.style.display).toBe('none');
  });

  it('shows both sides in diff tooltips and colours by change', () => {
    const { g, canvas, tip, ctx } = setup({ units: 'objects', sampleRate: 0 });
    g.setModel(fromFlamebearer(doubleFb, 'double', 10, 20));
    g.setColorMode('diff');
    // b: combined x 12..26 of 30 -> 400..866 px on row 2.
    canvas.fire('mousemove', { offsetX: 500, offsetY: 40 });
    expect(tip.text()).toBe('bBaseline: 4 (40%), self 4Comparison: 10 (50%), self 10Change: +10 pp (+25%) ▲');
    const styles = new Set(ctx.ops.filter((o) => o.op === 'fillRect').map((o) => o.style));
    expect(styles.size).toBeGreaterThanOrEqual(4); // background, neutral, red, green
  });

  it('offers copy, sandwich and focus in the context menu', async () => {
    const onSandwich = vi.fn();
    const { g, canvas, menu } = setup({ onSandwich });
    g.setModel(m);
    const ev = canvas.fire('contextmenu', { offsetX: 800, offsetY: 40 }); // c
    expect(ev.preventDefault).toHaveBeenCalled();
    expect(menu.style.display).toBe('block');
    const [copy, sw, focus] = menu.children;
    expect([copy.textContent, sw.textContent, focus.textContent]).toEqual(['Copy function name', 'Sandwich view', 'Focus']);
    copy.fire('click');
    await Promise.resolve();
    expect(writeText).toHaveBeenCalledWith('c');
    expect(menu.style.display).toBe('none');
    canvas.fire('contextmenu', { offsetX: 800, offsetY: 40 });
    sw.fire('click');
    expect(onSandwich).toHaveBeenCalledWith('c');
    canvas.fire('contextmenu', { offsetX: 800, offsetY: 40 });
    focus.fire('click');
    expect(g.focused).toBe(find('c'));
  });

  it('removes everything on destroy', () => {
    const { g, container } = setup();
    g.setModel(m);
    g.destroy();
    expect(container.children).toHaveLength(0);
    expect([...win.listeners.values()].flat()).toHaveLength(0);
    expect([...doc.listeners.values()].flat()).toHaveLength(0);
  });

  it('draws 100k nodes with bounded work', () => {
    // 100 x 1000 leaves under 100 parents: 100,101 nodes.
    let text = '';
    for (let p = 0; p < 100; p++) for (let c = 0; c < 1000; c++) text += `p${p};f${c} ${1 + ((p * c) % 5)}\n`;
    const big = fromFolded(text);
    expect(big.count).toBe(100_101);
    const { g, ctx } = setup();
    g.setModel(big);
    const first = g.lastDrawMs;
    ctx.ops = [];
    g.focus(1);
    const zoom = g.lastDrawMs;
    g.setSearch('f1');
    console.log(
      `FlameGraph draw (fake ctx): first ${first.toFixed(1)} ms, zoom ${zoom.toFixed(1)} ms, search ${g.lastDrawMs.toFixed(1)} ms`,
    );
    expect(ctx.ops.filter((o) => o.op === 'fillRect').length).toBeLessThan(3 * 1000 + 10);
  });
});
