// The time range picker: presets and absolute times.
import { afterNextFrame, el } from './dom';
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
    // Plain text inputs until the view's first frame is out: a datetime-local
    // input sets up the locale's date formats, which costs a fresh page
    // ~10 ms. Both forms take the same "YYYY-MM-DDTHH:MM" value (and width,
    // styles.css), so the switch moves nothing.
    this.fromInput = el('input', { type: 'text', 'aria-label': 'From' });
    this.untilInput = el('input', { type: 'text', 'aria-label': 'Until' });
    afterNextFrame(() => {
      for (const input of [this.fromInput, this.untilInput]) {
        const value = input.value;
        input.type = 'datetime-local';
        input.value = value;
      }
    });
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
