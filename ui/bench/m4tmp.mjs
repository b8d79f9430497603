import { chromium } from 'playwright-core';
import { writeFileSync } from 'fs';
const base = process.argv[2];
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
const page = await context.newPage();
const cdp = await context.newCDPSession(page);
await cdp.send('Profiler.enable');
await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
await cdp.send('Profiler.start');
const params = new URLSearchParams({ type: 'process_cpu:cpu:nanoseconds:cpu:nanoseconds', query: `{service_name="bench100k"}`, from: 'now-6h', maxNodes: '4000000', layout: 'flame' });
await page.goto(`${base}/?${params}`, { waitUntil: 'commit' });
await page.waitForSelector('[data-testid="flame"][data-displayed]', { timeout: 120000 });
const { profile } = await cdp.send('Profiler.stop');
const d = await page.evaluate(() => [document.querySelector('[data-testid="flame"]').dataset.displayed, performance.getEntriesByType('mark').map(m => [m.name, Math.round(m.startTime)])]);
console.log(JSON.stringify(d));
// self time per function
const byId = new Map(profile.nodes.map(n => [n.id, n]));
const self = new Map();
const dt = profile.timeDeltas; 
for (let i = 0; i < profile.samples.length; i++) {
  const n = byId.get(profile.samples[i]);
  const key = `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.replace(/.*\//, '')}:${n.callFrame.lineNumber}`;
  self.set(key, (self.get(key) || 0) + (dt[i+1] ?? 0) / 1000);
}
let t = profile.startTime; const buckets = [];
for (let i = 0; i < profile.samples.length; i++) { t += dt[i]; const n = byId.get(profile.samples[i]);
  const b = Math.floor((t - profile.startTime) / 10000); (buckets[b] ||= new Map());
  let stack = []; let m = n; const parent = new Map(); 
  const key = `${n.callFrame.functionName || '(anon)'}`;
  buckets[b].set(key, (buckets[b].get(key) || 0) + 1); }
buckets.forEach((m, b) => { if (!m) return; console.log(b * 10, [...m.entries()].sort((x, y) => y[1] - x[1]).slice(0, 5).map(([k, v]) => `${k}:${v}`).join(' ')); });
const top = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 30);
for (const [k, v] of top) console.log(v.toFixed(1).padStart(7), k);
await browser.close();
