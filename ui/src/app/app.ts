// The application shell: header (views, service, profile type, theme), the
// current view, the URL as the single source of truth, keyboard shortcuts,
// and the loading / error / empty states.
import * as api from '../api';
import { afterNextFrame, el } from './dom';
import { DEFAULTS, formatState, parseState, type View, type ViewState } from './state';

export interface ViewContext {
  state: ViewState;
  /** Changes the state (and the URL); the view re-renders when needed. */
  update(patch: Partial<ViewState>, opts?: { replace?: boolean }): void;
  types: api.ProfileType[];
  status: StatusLine;
  /** Shows the page if it is still hidden (see App: the view's first data is in hand). */
  reveal(): void;
}

export interface ViewHandle {
  /** Called after every state change; returns false if the view must be rebuilt. */
  update(prev: ViewState, next: ViewState): boolean;
  destroy(): void;
  onKey?(e: KeyboardEvent): boolean;
}

export type ViewFactory = (parent: HTMLElement, ctx: ViewContext) => ViewHandle;

/** Loading, error and info messages of the current view. */
export class StatusLine {
  readonly element: HTMLElement;
  private timer = 0;
  constructor() {
    this.element = el('div', { class: 'status', 'data-testid': 'status', hidden: '' });
  }
  loading(what: string): void {
    clearTimeout(this.timer);
    // Only show "loading" when it takes a moment: no flicker on fast queries.
    this.timer = window.setTimeout(() => this.show('loading', `Loading ${what}…`), 120);
  }
  error(e: unknown): void {
    clearTimeout(this.timer);
    if (e instanceof api.ApiError) {
      const text =
        e.kind === 'network'
          ? `Cannot reach the Stackhouse server: ${e.message}. Is it running?`
          : e.kind === 'client'
            ? `The server rejected the query: ${e.message}`
            : `The server failed: ${e.message}`;
      this.show('error', text);
    } else {
      this.show('error', String((e as Error)?.message ?? e));
    }
  }
  info(text: string): void {
    clearTimeout(this.timer);
    this.show('info', text);
  }
  clear(): void {
    clearTimeout(this.timer);
    this.element.hidden = true;
    this.element.className = 'status';
  }
  private show(kind: string, text: string): void {
    this.element.hidden = false;
    this.element.className = `status ${kind}`;
    this.element.textContent = text;
  }
}

const VIEWS: { id: View; title: string; key: string }[] = [
  { id: 'single', title: 'Flame graph', key: '1' },
  { id: 'compare', title: 'Comparison', key: '2' },
  { id: 'diff', title: 'Diff', key: '3' },
  { id: 'labels', title: 'Labels', key: '4' },
];

export class App {
  private state: ViewState;
  private types: api.ProfileType[] = [];
  private view: ViewHandle | null = null;
  private readonly main: HTMLElement;
  private readonly status = new StatusLine();
  private readonly tabs: HTMLElement;
  private readonly typeSelect: HTMLSelectElement;
  private readonly serviceSelect: HTMLSelectElement;

  constructor(
    private readonly root: HTMLElement,
    private readonly factories: Record<View, ViewFactory>,
  ) {
    this.state = parseState(location.search);
    // A flame-graph link whose query index.html started: the page stays
    // hidden (no style, layout or paint) until the response is in hand, or
    // for 150 ms at most, so that the browser's first frame is the flame
    // graph: a frame of the empty shell first would cost a fresh page
    // 20-40 ms of layout and paint, and the response would wait for it.
    if (window.__stackhousePrefetch && this.state.view === 'single') {
      root.hidden = true;
      setTimeout(() => this.reveal(), 150);
    }
    document.documentElement.dataset.theme = this.state.theme;
    const header = el('header', { class: 'topbar' });
    const logo = el('a', { class: 'logo', href: './' }, 'Stackhouse');
    this.tabs = el('nav', { class: 'tabs' });
    for (const v of VIEWS) {
      const b = el('button', { 'data-view': v.id, title: `${v.title} (${v.key})` }, v.title);
      b.addEventListener('click', () => this.update({ view: v.id }));
      this.tabs.append(b);
    }
    this.serviceSelect = el('select', { 'aria-label': 'Service', 'data-testid': 'service' });
    this.serviceSelect.addEventListener('change', () =>
      this.update({ query: this.serviceSelect.value ? `{service_name="${this.serviceSelect.value}"}` : '{}', focus: '', sandwich: '' }),
    );
    this.typeSelect = el('select', { 'aria-label': 'Profile type', 'data-testid': 'type' });
    this.typeSelect.addEventListener('change', () => this.update({ type: this.typeSelect.value, focus: '', sandwich: '' }));
    const theme = el('button', { class: 'icon', title: 'Dark / light theme (t)', 'data-testid': 'theme' }, '◐');
    theme.addEventListener('click', () => this.toggleTheme());
    const help = el('button', { class: 'icon', title: 'Keyboard shortcuts (?)' }, '?');
    help.addEventListener('click', () => this.showHelp());
    header.append(logo, this.tabs, el('span', { class: 'spacer' }), this.serviceSelect, this.typeSelect, theme, help);
    this.main = el('main');
    root.append(header, this.status.element, this.main);
    window.addEventListener('popstate', () => this.apply(parseState(location.search), false));
    window.addEventListener('keydown', (e) => this.onKey(e));
  }

  async start(): Promise<void> {
    // A link that names the profile type opens its view at once; the lists
    // of types and services load once the next frame is out (their requests
    // cost a fresh page several ms that the view's first frame should not
    // wait for).
    if (this.state.type) {
      this.types = [{ ID: this.state.type, name: this.state.type.split(':')[0], sampleType: '', sampleUnit: '' }];
      this.apply(this.state, true);
      await new Promise<void>((resolve) => {
        afterNextFrame(resolve);
        setTimeout(resolve, 1000); // a background tab draws no frames
      });
    } else {
      this.status.loading('profile types');
    }
    const services = this.loadServices();
    const types = api.profileTypes();
    try {
      this.types = await types;
    } catch (e) {
      this.view?.destroy();
      this.view = null;
      this.status.error(e);
      this.renderEmpty(true);
      return;
    }
    if (this.types.length === 0) {
      this.view?.destroy();
      this.view = null;
      this.status.clear();
      this.renderEmpty(false);
      return;
    }
    this.typeSelect.replaceChildren(...this.types.map((t) => el('option', { value: t.ID }, describeType(t))));
    const opened = this.view !== null;
    if (!this.state.type || !this.types.some((t) => t.ID === this.state.type)) {
      const cpu = this.types.find((t) => t.name === 'process_cpu' && t.sampleType === 'cpu') ?? this.types[0];
      this.state = { ...this.state, type: cpu.ID };
      history.replaceState(null, '', formatState(this.state) || location.pathname);
      this.status.clear();
      this.apply(this.state, true);
    } else if (!opened) {
      this.status.clear();
      this.apply(this.state, true);
    } else {
      this.typeSelect.value = this.state.type;
    }
    await services;
    this.serviceSelect.value = this.serviceOf(this.state.query);
  }

  private serviceOf(query: string): string {
    const m = /^\{\s*service_name\s*=\s*"([^"]*)"\s*\}$/.exec(query.trim());
    return m ? m[1] : '';
  }

  private async loadServices(): Promise<void> {
    let services: string[] = [];
    try {
      services = await api.labelValues('service_name', []);
    } catch {
      // the selector still works without the list
    }
    this.serviceSelect.replaceChildren(
      el('option', { value: '' }, 'All services'),
      ...services.map((s) => el('option', { value: s }, s)),
    );
  }

  update(patch: Partial<ViewState>, opts: { replace?: boolean } = {}): void {
    const next = { ...this.state, ...patch };
    if (formatState(next) === formatState(this.state)) return;
    const url = formatState(next) || location.pathname;
    if (opts.replace) history.replaceState(null, '', url);
    else history.pushState(null, '', url);
    this.apply(next, false);
  }

  private apply(next: ViewState, force: boolean): void {
    const prev = this.state;
    this.state = next;
    document.documentElement.dataset.theme = next.theme;
    for (const b of this.tabs.querySelectorAll('button')) {
      b.classList.toggle('active', (b as HTMLElement).dataset.view === next.view);
    }
    this.typeSelect.value = next.type;
    this.serviceSelect.value = this.serviceOf(next.query);
    if (this.types.length === 0) return;
    if (force || !this.view || prev.view !== next.view || !this.view.update(prev, next)) {
      this.view?.destroy();
      this.main.replaceChildren();
      this.status.clear();
      this.view = this.factories[next.view](this.main, this.context());
    }
  }

  private context(): ViewContext {
    const app = this;
    return {
      get state() {
        return app.state;
      },
      update: (patch, opts) => app.update(patch, opts),
      types: this.types,
      status: this.status,
      reveal: () => app.reveal(),
    };
  }

  private reveal(): void {
    if (this.root.hidden) this.root.hidden = false;
  }

  private toggleTheme(): void {
    this.update({ theme: this.state.theme === 'dark' ? 'light' : 'dark' }, { replace: true });
  }

  private onKey(e: KeyboardEvent): void {
    const target = e.target as HTMLElement;
    const typing = target && (target.tagName === 'INPUT' || target.tagName === 'TEXTAREA' || target.tagName === 'SELECT');
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (typing) {
      if (e.key === 'Escape') target.blur();
      return;
    }
    if (this.view?.onKey?.(e)) {
      e.preventDefault();
      return;
    }
    const v = VIEWS.find((x) => x.key === e.key);
    if (v) this.update({ view: v.id });
    else if (e.key === 't') this.toggleTheme();
    else if (e.key === '/') {
      const search = this.main.querySelector<HTMLInputElement>('[data-testid="search"]');
      search?.focus();
    } else if (e.key === '?') this.showHelp();
    else return;
    e.preventDefault();
  }

  private showHelp(): void {
    const dlg = el('dialog', { class: 'help', 'data-testid': 'help' });
    const rows: [string, string][] = [
      ['1 2 3 4', 'Flame graph, comparison, diff, labels'],
      ['/', 'Search frames'],
      ['Esc', 'Reset the zoom / close'],
      ['f / b / l', 'Flame graph only / both / table only'],
      ['s', 'Sandwich view of the focused function'],
      ['t', 'Dark / light theme'],
      ['?', 'This help'],
    ];
    dlg.append(
      el('h3', {}, 'Keyboard shortcuts'),
      el('table', {}, ...rows.map(([k, d]) => el('tr', {}, el('td', {}, el('kbd', {}, k)), el('td', {}, d)))),
      el('form', { method: 'dialog' }, el('button', {}, 'Close')),
    );
    document.body.append(dlg);
    dlg.addEventListener('close', () => dlg.remove());
    dlg.showModal();
  }

  /** No data yet (or no server): how to send some. */
  private renderEmpty(serverDown: boolean): void {
    const origin = location.origin.startsWith('http') ? location.origin : 'http://localhost:4040';
    const curl = `curl -X POST --data-binary @stacks.txt '${origin}/ingest?name=myapp.cpu&sampleRate=100'`;
    const push = `stackhouse push cpu.pb.gz --server ${origin} --service myapp`;
    const box = el(
      'section',
      { class: 'empty', 'data-testid': 'empty' },
      el('h2', {}, serverDown ? 'The server is not answering' : 'No profiles yet'),
      el(
        'p',
        {},
        serverDown
          ? 'Start it with ./scripts/run, then reload this page.'
          : 'Send a profile and reload. Folded stacks ("main;work 42" per line) with curl:',
      ),
    );
    if (!serverDown) {
      for (const cmd of [curl, push]) {
        const pre = el('pre', {}, cmd);
        const copy = el('button', { class: 'copy' }, 'Copy');
        copy.addEventListener('click', () => void navigator.clipboard?.writeText(cmd));
        box.append(el('div', { class: 'cmd' }, pre, copy));
      }
      box.append(el('p', {}, 'Pyroscope SDKs and Grafana Alloy can push here unchanged: point them at ', el('code', {}, origin), '.'));
    }
    this.main.replaceChildren(box);
  }
}

export function describeType(t: api.ProfileType): string {
  return `${t.name} · ${t.sampleType} (${t.sampleUnit})`;
}

export { DEFAULTS };
