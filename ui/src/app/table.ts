// A sortable, filterable table of functions (top table, diff table). Only
// the first rows are in the DOM; the count says how many matched.
import { el } from './dom';

export interface Column<R> {
  key: string;
  title: string;
  value: (r: R) => number | string;
  format?: (r: R) => string;
  numeric?: boolean;
  className?: (r: R) => string;
}

const MAX_ROWS = 400;

export class Table<R> {
  private readonly root: HTMLElement;
  private readonly filterInput: HTMLInputElement;
  private readonly count: HTMLElement;
  private readonly body: HTMLTableSectionElement;
  private readonly head: HTMLTableRowElement;
  private rows: R[] = [];
  private sortKey: string;
  private sortDesc = true;

  constructor(
    parent: HTMLElement,
    private readonly columns: Column<R>[],
    private readonly nameOf: (r: R) => string,
    private readonly onRowClick: (r: R) => void,
    initialSort: string,
    testId = 'table',
  ) {
    this.sortKey = initialSort;
    this.root = el('div', { class: 'table-wrap', 'data-testid': testId });
    const bar = el('div', { class: 'table-bar' });
    this.filterInput = el('input', { type: 'search', placeholder: 'Filter functions', 'aria-label': 'Filter' });
    this.filterInput.addEventListener('input', () => this.paint());
    this.count = el('span', { class: 'dim' });
    bar.append(this.filterInput, this.count);
    const table = el('table', { class: 'fn-table' });
    const thead = el('thead');
    this.head = el('tr');
    for (const c of columns) {
      const th = el('th', { class: c.numeric ? 'num sortable' : 'sortable', 'data-key': c.key }, c.title);
      th.addEventListener('click', () => {
        if (this.sortKey === c.key) this.sortDesc = !this.sortDesc;
        else {
          this.sortKey = c.key;
          this.sortDesc = !!c.numeric;
        }
        this.paint();
      });
      this.head.append(th);
    }
    thead.append(this.head);
    this.body = el('tbody');
    table.append(thead, this.body);
    this.root.append(bar, table);
    parent.appendChild(this.root);
  }

  get element(): HTMLElement {
    return this.root;
  }

  setRows(rows: R[]): void {
    this.rows = rows;
    this.paint();
  }

  setFilter(text: string): void {
    this.filterInput.value = text;
    this.paint();
  }

  private paint(): void {
    const col = this.columns.find((c) => c.key === this.sortKey) ?? this.columns[0];
    const f = this.filterInput.value.toLowerCase();
    const rows = f ? this.rows.filter((r) => this.nameOf(r).toLowerCase().includes(f)) : this.rows.slice();
    const dir = this.sortDesc ? -1 : 1;
    rows.sort((a, b) => {
      const x = col.value(a);
      const y = col.value(b);
      return (x < y ? -1 : x > y ? 1 : 0) * dir;
    });
    for (const th of this.head.children) {
      const k = (th as HTMLElement).dataset.key;
      th.classList.toggle('sorted', k === col.key);
      th.setAttribute('aria-sort', k === col.key ? (this.sortDesc ? 'descending' : 'ascending') : 'none');
    }
    const shown = rows.slice(0, MAX_ROWS);
    this.count.textContent =
      rows.length > MAX_ROWS ? `${MAX_ROWS} of ${rows.length} functions` : `${rows.length} functions`;
    const frag = document.createDocumentFragment();
    for (const r of shown) {
      const tr = el('tr');
      for (const c of this.columns) {
        const td = el('td', { class: (c.numeric ? 'num ' : 'name ') + (c.className?.(r) ?? '') });
        td.textContent = c.format ? c.format(r) : String(c.value(r));
        if (!c.numeric) td.title = String(c.value(r));
        tr.append(td);
      }
      tr.addEventListener('click', () => this.onRowClick(r));
      frag.append(tr);
    }
    this.body.replaceChildren(frag);
  }
}
