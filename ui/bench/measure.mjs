// Times the Stackhouse UI in headless Chromium the way
// ../shared/bench/speedscope/measure.js times speedscope: a fresh browser per
// run, from navigation start (performance.timeOrigin) to the frame after the
// flame graph was drawn (requestAnimationFrame's timestamp, in the page's
// clock). Also: data in hand -> first frame, and the main-thread time of a
// zoom and a search redraw. Prints one JSON line.
//
//   node bench/measure.mjs --base http://127.0.0.1:PORT --service bench100k [--max-nodes N]
import { chromium } from 'playwright-core';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const base = arg('base');
const service = arg('service', 'bench100k');
const maxNodes = arg('max-nodes', '2000000');
const type = 'process_cpu:cpu:nanoseconds:cpu:nanoseconds';

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run'],
});
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const params = new URLSearchParams({ type, query: `{service_name="${service}"}`, from: 'now-6h', maxNodes, layout: 'flame' });
  // Waits through a plain CDP evaluation polling in the page: Playwright's
  // waitForSelector would first compile its injected script on the page's
  // main thread (~25-50 ms here) while the page loads.
  const cdp = await context.newCDPSession(page);
  await page.goto(`${base}/?${params}`, { waitUntil: 'commit' });
  const waited = await cdp.send('Runtime.evaluate', {
    awaitPromise: true,
    returnByValue: true,
    timeout: 120000,
    expression: `new Promise((resolve) => {
      const check = () => {
        const pane = document.querySelector('[data-testid="flame"]');
        if (pane && pane.dataset.displayed) resolve(true);
        else setTimeout(check, 10);
      };
      check();
    })`,
  });
  if (waited.exceptionDetails) throw new Error(`waiting for the flame graph: ${waited.exceptionDetails.text}`);
  const r = await page.evaluate(() => {
    const pane = document.querySelector('[data-testid="flame"]');
    const d = pane.dataset;
    const res = performance.getEntriesByType('resource').find((e) => e.name.includes('/pyroscope/render'));
    return {
      nodes: Number(d.nodes),
      load_ms: Number(d.displayed),
      drawn_at_ms: Number(d.drawn),
      render_ms: Number(d.renderMs),
      first_draw_ms: Number(d.drawMs),
      data_arrived_ms: res ? res.responseEnd : null,
    };
  });
  await page.waitForTimeout(500);
  // Zoom: click a bar in the second row, three times at different places
  // (each click focuses another bar); search: three queries. The median of
  // each: one action's time swings 3-30 ms here with the VM and the JIT.
  const zoom = await page.evaluate(async () => {
    const pane = document.querySelector('[data-testid="flame"]');
    const canvas = pane.querySelector('canvas');
    const rect = canvas.getBoundingClientRect();
    const times = [];
    for (const at of [0.3, 0.6, 0.15]) {
      const before = pane.dataset.drawSeq;
      canvas.dispatchEvent(new MouseEvent('click', { bubbles: true, clientX: rect.left + rect.width * at, clientY: rect.top + 27 }));
      const t = performance.now();
      while (pane.dataset.drawSeq === before && performance.now() - t < 5000) await new Promise((r) => setTimeout(r, 5));
      times.push(Number(pane.dataset.drawMs));
      await new Promise((r) => setTimeout(r, 50));
    }
    return times.sort((a, b) => a - b)[1];
  });
  const search = await page.evaluate(async () => {
    const pane = document.querySelector('[data-testid="flame"]');
    const input = document.querySelector('[data-testid="search"]');
    const times = [];
    for (const q of ['a', 'b', 'c']) {
      const before = pane.dataset.drawSeq;
      input.value = q;
      input.dispatchEvent(new Event('input', { bubbles: true }));
      const t = performance.now();
      while (pane.dataset.drawSeq === before && performance.now() - t < 5000) await new Promise((r) => setTimeout(r, 5));
      times.push(Number(pane.dataset.drawMs));
      await new Promise((r) => setTimeout(r, 50));
    }
    return times.sort((a, b) => a - b)[1];
  });
  console.log(JSON.stringify({ ...r, zoom_redraw_ms: zoom, search_redraw_ms: search }));
} finally {
  await browser.close();
}
