// A tiny element helper: el('div', {class: 'x'}, 'text', child).
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined) continue;
    e.setAttribute(k, v);
  }
  e.append(...children);
  return e;
}

/** Saves a Blob as a download. */
export function download(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = el('a', { href: url, download: name });
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

export async function copyText(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const t = el('textarea', {}, text);
    document.body.appendChild(t);
    t.select();
    document.execCommand('copy');
    t.remove();
  }
}

/** Marks a flame graph's container as drawn (tests and the bench wait for it). */
export function markDrawn(pane: HTMLElement, model: { count: number; numTicks: number }): void {
  pane.dataset.nodes = String(model.count);
  pane.dataset.ticks = String(model.numTicks);
  pane.dataset.drawn = String(performance.now());
  // The start of the frame after the one that shows the drawn canvas: the
  // canvas has been presented by then (as speedscope's reference timing
  // counts). Never before the draw itself.
  delete pane.dataset.displayed;
  const drawn = performance.now();
  requestAnimationFrame(() =>
    requestAnimationFrame((ts) => (pane.dataset.displayed = String(Math.max(ts, drawn)))),
  );
}

/** Runs fn once what is drawn now is on screen and the frame after it has
 * started: for work that must not delay either (run after the first frame
 * only, it held up the second, whose start is when the flame graph counts
 * as displayed, by the time range's and the table's 15-25 ms). */
export function afterNextFrame(fn: () => void): void {
  requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(fn, 0)));
}
