// The time range picker: presets and absolute times.
import { el } from './dom';
import { PRESETS, parseTime, toInputValue } from './time';

export class TimeRange {
  private readonly select: HTMLSelectElement;
  private readonly fromInput: HTMLInputElement;
  private readonly untilInput: HTMLInputElement;

  constructor(
    parent: HTMLElement,
    private readonly onChange: (from: string, until: string) => void,
    testId = 'range',
  ) {
    const wrap = el('div', { class: 'timerange', 'data-testid': testId });
    this.select = el('select', { 'aria-label': 'Time range' });
    for (const p of PRESETS) this.select.append(el('option', { value: p.from }, p.label));
    this.select.append(el('option', { value: 'custom' }, 'Custom'));
    this.fromInput = el('input', { type: 'datetime-local', 'aria-label': 'From' });
    this.untilInput = el('input', { type: 'datetime-local', 'aria-label': 'Until' });
    this.select.addEventListener('change', () => {
      if (this.select.value !== 'custom') this.onChange(this.select.value, 'now');
    });
    const apply = () => {
      const f = Date.parse(this.fromInput.value);
      const u = Date.parse(this.untilInput.value);
      if (!Number.isNaN(f) && !Number.isNaN(u) && u > f) {
        this.onChange(String(Math.floor(f / 1000)), String(Math.floor(u / 1000)));
      }
    };
    this.fromInput.addEventListener('change', apply);
    this.untilInput.addEventListener('change', apply);
    wrap.append(this.select, this.fromInput, el('span', {}, '→'), this.untilInput);
    parent.appendChild(wrap);
  }

  set(from: string, until: string): void {
    const now = Date.now() / 1000;
    const preset = PRESETS.find((p) => p.from === from);
    this.select.value = preset && (until === 'now' || until === '') ? from : 'custom';
    const f = parseTime(from, now);
    const u = parseTime(until, now);
    if (f !== null) this.fromInput.value = toInputValue(f);
    if (u !== null) this.untilInput.value = toInputValue(u);
  }
}
