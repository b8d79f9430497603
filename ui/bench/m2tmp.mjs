import { chromium } from 'playwright-core';
const base = process.argv[2];
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
const page = await context.newPage();
const params = new URLSearchParams({ type: 'process_cpu:cpu:nanoseconds:cpu:nanoseconds', query: `{service_name="bench100k"}`, from: 'now-6h', maxNodes: '4000000', layout: 'flame' });
await page.goto(`${base}/?${params}`, { waitUntil: 'commit' });
await page.waitForSelector('[data-testid="flame"][data-displayed]', { timeout: 120000 });
const r = await page.evaluate(() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const out = { nav: { rs: nav.requestStart, resp: nav.responseStart, end: nav.responseEnd, dcl: nav.domContentLoadedEventEnd }, displayed: document.querySelector('[data-testid="flame"]').dataset.displayed };
  out.res = performance.getEntriesByType('resource').map(e => [e.name.replace(/.*\//, '').slice(0, 50), Math.round(e.startTime), Math.round(e.requestStart), Math.round(e.responseStart), Math.round(e.responseEnd), e.transferSize]);
  out.marks = performance.getEntriesByType('mark').map(m => [m.name, Math.round(m.startTime)]);
  out.paint = performance.getEntriesByType('paint').map(m => [m.name, Math.round(m.startTime)]);
  return out;
});
console.log(JSON.stringify(r, null, 1));
await browser.close();
