// The "Explain" panel of the single and diff views: the server's built-in
// interpreter (/api/v1/explain) on what is on screen — findings with their
// numbers, the call path, and what to do next. Nothing leaves the server.
import * as api from '../api';
import { el } from './dom';

export class ExplainPanel {
  readonly button: HTMLButtonElement;
  private readonly panel: HTMLElement;
  private seq = 0;
  private open = false;

  /** `request` returns the selections on screen: the selection and, in a diff, the baseline. */
  constructor(
    parent: HTMLElement,
    private readonly request: () => { selection: { query: string; range: api.Range }; baseline?: { query: string; range: api.Range } } | null,
    private readonly onFunction: (name: string) => void,
  ) {
    this.button = el('button', { 'data-testid': 'explain-button', title: 'Explain what is on screen: bottlenecks, causes and next steps' }, 'Explain');
    this.button.addEventListener('click', () => {
      this.open = !this.open;
      this.panel.hidden = !this.open;
      this.button.classList.toggle('active', this.open);
      if (this.open) void this.load();
    });
    this.panel = el('section', { class: 'explain', 'data-testid': 'explain-panel', hidden: '' });
    parent.append(this.panel);
  }

  /** The selection changed: refresh when open. */
  refresh(): void {
    if (this.open) void this.load();
  }

  private async load(): Promise<void> {
    const mine = ++this.seq;
    const req = this.request();
    if (!req) return;
    this.panel.replaceChildren(el('p', { class: 'dim' }, 'Explaining…'));
    try {
      const e = await api.explain(req.selection, req.baseline);
      if (mine !== this.seq) return;
      this.render(e);
    } catch (err) {
      if (mine !== this.seq) return;
      this.panel.replaceChildren(el('p', { class: 'error' }, `Could not explain: ${(err as Error).message}`));
    }
  }

  private render(e: api.Explanation): void {
    const head = el('h3', {}, e.diff ? 'What changed' : 'What this profile says');
    const close = el('button', { class: 'close', title: 'Close' }, '×');
    close.addEventListener('click', () => this.button.click());
    if (e.findings.length === 0) {
      this.panel.replaceChildren(close, head, el('p', { class: 'dim' }, 'Nothing stands out in this selection.'));
      return;
    }
    const list = el('ol', { class: 'findings' });
    for (const f of e.findings.slice(0, 8)) {
      const item = el('li', { 'data-testid': 'finding', 'data-category': f.category });
      item.append(el('span', { class: `tag ${f.category}` }, f.category.replace(/_/g, ' ')), ' ', el('span', { class: 'title' }, f.title));
      if (f.path.length > 0) {
        const path = el('div', { class: 'path dim' });
        f.path.forEach((name, i) => {
          if (i > 0) path.append(' → ');
          const a = el('a', { href: '#', title: `Search for ${name}` }, name);
          a.addEventListener('click', (ev) => {
            ev.preventDefault();
            this.onFunction(name);
          });
          path.append(a);
        });
        item.append(path);
      }
      item.append(el('div', { class: 'next' }, `Next: ${f.next_step}`));
      list.append(item);
    }
    this.panel.replaceChildren(close, head, list);
  }
}
