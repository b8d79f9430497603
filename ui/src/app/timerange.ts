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
    upgradeAfterFirstFrame = true,
  ) {
    const wrap = el('div', { class: 'timerange', 'data-testid': testId });
    this.select = el('select', { 'aria-label': 'Time range' });
    for (const p of PRESETS) this.select.append(el('option', { value: p.from }, p.label));
    this.select.append(el('option', { value: 'custom' }, 'Custom'));
    // Plain text inputs until the view has drawn what it shows first: a
    // datetime-local input sets up the locale's date formats, which costs a
    // fresh page ~10 ms. Both forms take the same "YYYY-MM-DDTHH:MM" value
    // (and box, styles.css), so upgrade() moves nothing. A view that calls
    // upgrade() itself passes upgradeAfterFirstFrame = false.
    this.fromInput = el('input', { type: 'text', 'aria-label': 'From' });
    this.untilInput = el('input', { type: 'text', 'aria-label': 'Until' });
    if (upgradeAfterFirstFrame) afterNextFrame(() => this.upgrade());
    for (const input of [this.fromInput, this.untilInput]) input.addEventListener('focus', () => this.upgrade());
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

  /** Turns the absolute-time inputs into datetime-local ones (once). */
  upgrade(): void {
    for (const input of [this.fromInput, this.untilInput]) {
      if (input.type === 'datetime-local') continue;
      const value = input.value;
      input.type = 'datetime-local';
      input.value = value;
    }
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
