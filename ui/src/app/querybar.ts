// The label selector input with autocompletion from the label names and
// values APIs. Enter (or the button) applies the selector.
import { applyCompletion, completionContext, rankCandidates, type CompletionContext } from './complete';
import { el } from './dom';

export interface QueryBarSource {
  names(): Promise<string[]>;
  values(label: string): Promise<string[]>;
}

export class QueryBar {
  readonly input: HTMLInputElement;
  private readonly list: HTMLUListElement;
  private items: string[] = [];
  private active = 0;
  private ctx: CompletionContext | null = null;
  private seq = 0;

  constructor(
    parent: HTMLElement,
    private readonly source: QueryBarSource,
    private readonly onSubmit: (selector: string) => void,
    testId = 'query',
  ) {
    const wrap = el('div', { class: 'querybar' });
    this.input = el('input', {
      type: 'text',
      spellcheck: 'false',
      autocomplete: 'off',
      placeholder: '{service_name="checkout", env="prod"}',
      'data-testid': testId,
      'aria-label': 'Label selector',
    }) as HTMLInputElement;
    this.list = el('ul', { class: 'completions', role: 'listbox', hidden: '' }) as HTMLUListElement;
    const go = el('button', { class: 'primary', title: 'Apply (Enter)' }, 'Apply');
    go.addEventListener('click', () => this.submit());
    wrap.append(this.input, this.list, go);
    parent.appendChild(wrap);
    this.input.addEventListener('input', () => void this.refresh());
    this.input.addEventListener('focus', () => void this.refresh());
    this.input.addEventListener('blur', () => setTimeout(() => this.hide(), 150));
    this.input.addEventListener('keydown', (e) => this.onKey(e));
  }

  set value(v: string) {
    this.input.value = v;
  }
  get value(): string {
    return this.input.value;
  }

  private submit(): void {
    this.hide();
    this.onSubmit(this.input.value.trim() || '{}');
  }

  private onKey(e: KeyboardEvent): void {
    const open = !this.list.hidden && this.items.length > 0;
    if (e.key === 'ArrowDown' && open) {
      this.active = (this.active + 1) % this.items.length;
      this.paint();
      e.preventDefault();
    } else if (e.key === 'ArrowUp' && open) {
      this.active = (this.active + this.items.length - 1) % this.items.length;
      this.paint();
      e.preventDefault();
    } else if ((e.key === 'Tab' || e.key === 'Enter') && open) {
      this.choose(this.items[this.active]);
      e.preventDefault();
    } else if (e.key === 'Enter') {
      this.submit();
      e.preventDefault();
    } else if (e.key === 'Escape') {
      this.hide();
    }
  }

  private async refresh(): Promise<void> {
    const seq = ++this.seq;
    const text = this.input.value;
    const ctx = completionContext(text, this.input.selectionStart ?? text.length);
    this.ctx = ctx;
    if (!ctx) return this.hide();
    let candidates: string[];
    try {
      candidates = ctx.kind === 'name' ? await this.source.names() : await this.source.values(ctx.label);
    } catch {
      return this.hide();
    }
    if (seq !== this.seq) return; // a newer keystroke won
    this.items = rankCandidates(candidates, ctx.prefix);
    this.active = 0;
    if (this.items.length === 0) return this.hide();
    this.paint();
  }

  private paint(): void {
    this.list.replaceChildren(
      ...this.items.map((item, i) => {
        const li = el('li', { role: 'option', class: i === this.active ? 'active' : '' }, item);
        li.addEventListener('mousedown', (e) => {
          e.preventDefault();
          this.choose(item);
        });
        return li;
      }),
    );
    this.list.hidden = false;
  }

  private choose(item: string): void {
    if (!this.ctx) return;
    const r = applyCompletion(this.input.value, this.ctx, item);
    this.input.value = r.text;
    this.input.setSelectionRange(r.cursor, r.cursor);
    this.hide();
    void this.refresh();
  }

  private hide(): void {
    this.list.hidden = true;
  }
}
