// End-to-end tests of the web UI: a real `stackhouse server` (build/bin)
// loaded with the real profiles of ../shared/testdata, driven in Debian's
// headless Chromium by playwright-core. Walks the main paths, saves a
// screenshot per view under ui/e2e-output/, and checks a downloaded pprof
// with the project's own codec. Prints "e2e: N passed, M failed".
//
//   node e2e/run.mjs [--bin ../build/bin/stackhouse] [--testdata ../../shared/testdata]
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const ui = resolve(here, '..');
const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const bin = resolve(args.bin ?? join(ui, '..', 'build', 'bin', 'stackhouse'));
const testdata = resolve(args.testdata ?? process.env.STACKHOUSE_TESTDATA ?? join(ui, '..', '..', 'shared', 'testdata'));
const out = join(ui, 'e2e-output');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

function freePort() {
  return new Promise((res) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

async function waitReady(base) {
  for (let i = 0; i < 100; i++) {
    try {
      const r = await fetch(`${base}/ready`);
      if (r.ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the server did not become ready');
}

async function ingest(base, name, file, fromOffsetS, format = 'pprof') {
  const now = Math.floor(Date.now() / 1000);
  const body = readFileSync(join(testdata, file));
  const url = `${base}/ingest?name=${encodeURIComponent(name)}&format=${format}&from=${now - fromOffsetS}&until=${now - fromOffsetS + 10}&sampleRate=100`;
  const r = await fetch(url, { method: 'POST', body });
  if (!r.ok) throw new Error(`ingest ${file}: ${r.status} ${await r.text()}`);
}

const results = [];
async function step(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    results.push({ name, ok: true });
    console.log(`e2e: ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    results.push({ name, ok: false });
    console.log(`e2e: FAIL ${name}: ${e.stack ?? e}`);
  }
}

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const dataDir = mkdtempSync(join(tmpdir(), 'stackhouse-e2e-'));
const server = spawn(bin, ['server', '--http-addr', `127.0.0.1:${port}`, '--data-dir', dataDir,
  '--ui-dir', join(ui, 'dist'), '--log-level', 'warn', '--ingestion-rate-mb', '0'], { stdio: ['ignore', 'inherit', 'inherit'] });
let browser;
try {
  await waitReady(base);
  // The real profiles, stamped in the last hour: two versions of the Node
  // service (for the diff), the Go program's four profiles, gperftools.
  await ingest(base, 'ledger{version=v1}', 'go_cpu.pb.gz', 2400);
  await ingest(base, 'ledger{version=v2}', 'go_cpu.pb.gz', 600);
  await ingest(base, 'ledger', 'go_heap.pb.gz', 600);
  await ingest(base, 'ledger', 'go_mutex.pb.gz', 600);
  await ingest(base, 'invoices{version=v1,region=eu}', 'node_1.pb.gz', 2400);
  await ingest(base, 'invoices{version=v2,region=us}', 'node_3.pb.gz', 600);
  await ingest(base, 'inventory', 'gperftools_cpu.pb.gz', 900);
  await ingest(base, 'folded.cpu', 'folded.txt', 300, 'folded');

  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  const consoleErrors = [];
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
  const cpu = 'process_cpu:cpu:nanoseconds:cpu:nanoseconds';
  const wall = 'wall:wall:nanoseconds:wall:nanoseconds'; // the Node.js profiles
  const url = (params) => `${base}/?${new URLSearchParams(params)}`;
  const drawn = async (testid) => {
    await page.waitForSelector(`[data-testid="${testid}"][data-drawn]`, { timeout: 15000 });
  };
  const shot = (name) => page.screenshot({ path: join(out, `${name}.png`), fullPage: true });

  await step('load: the single view shows the flame graph and top table', async () => {
    await page.goto(url({ type: cpu, query: '{service_name="ledger"}' }));
    await drawn('flame');
    await page.waitForSelector('[data-testid="top-table"] tbody tr');
    const rows = await page.locator('[data-testid="top-table"] tbody tr').count();
    assert(rows > 10, `top table has ${rows} rows`);
    const first = await page.locator('[data-testid="top-table"] tbody tr').first().innerText();
    assert(first.includes('main.checksumLedger'), `top row: ${first}`);
    const nodes = Number(await page.getAttribute('[data-testid="flame"]', 'data-nodes'));
    assert(nodes > 100, `flame nodes ${nodes}`);
    // One draw on the way to the screen (not one per layout or theme step).
    const draws = await page.getAttribute('[data-testid="flame"]', 'data-model-draws');
    assert(draws === '1', `flame drawn ${draws} times before it was shown`);
    // Decoded by the WebAssembly core (ui/src/wasm), not the fallback.
    const decoder = await page.getAttribute('[data-testid="flame"]', 'data-decoder');
    assert(decoder === 'wasm', `the flame graph was decoded by ${decoder}`);
    // The server named the first query in a Link preload header and the
    // page's own fetch of it took that response: one request, not two.
    const renders = await page.evaluate(() =>
      performance.getEntriesByType('resource').filter((e) => e.name.includes('/pyroscope/render?')).map((e) => e.initiatorType));
    assert(renders.length === 1 && renders[0] === 'link', `the first render query's requests: ${renders}`);
    await shot('single');
  });

  await step('explain: the panel names the hotspot with its numbers', async () => {
    await page.click('[data-testid="explain-button"]');
    await page.waitForSelector('[data-testid="explain-panel"] [data-testid="finding"]', { timeout: 15000 });
    const first = await page.locator('[data-testid="finding"]').first().innerText();
    assert(first.includes('main.checksumLedger') && /\d+%/.test(first), `first finding: ${first}`);
    await shot('explain');
    await page.click('[data-testid="explain-button"]');
    assert(await page.locator('[data-testid="explain-panel"]').isHidden(), 'the panel closes');
  });

  await step('select a range by dragging on the timeline', async () => {
    const box = await page.locator('[data-testid="timeline"] .u-over').boundingBox();
    assert(box, 'no timeline plot');
    await page.mouse.move(box.x + box.width * 0.2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.95, box.y + box.height / 2, { steps: 8 });
    await page.mouse.up();
    await page.waitForFunction(() => /from=\d+/.test(location.search));
    const u = new URL(page.url());
    assert(Number(u.searchParams.get('until')) > Number(u.searchParams.get('from')), 'range not set');
    await drawn('flame');
    await shot('range');
  });

  await step('search highlights matches and shows their share', async () => {
    await page.goto(url({ type: cpu, query: '{service_name="ledger"}', from: 'now-1h' }));
    await drawn('flame');
    await page.fill('[data-testid="search"]', 'checksum');
    await page.waitForFunction(() => /matches/.test(document.querySelector('[data-testid="matches"]').textContent));
    const text = await page.innerText('[data-testid="matches"]');
    // main.checksumLedger is 51.75% of the CPU.
    assert(/51\.\d\d% of total/.test(text), `matches: ${text}`);
    assert(page.url().includes('search=checksum'), 'search not in the URL');
    await shot('search');
  });

  await step('zoom: click focuses a frame, Escape resets', async () => {
    await page.goto(url({ type: cpu, query: '{service_name="ledger"}' }));
    await drawn('flame');
    const canvas = page.locator('[data-testid="flame"] canvas').first();
    const box = await canvas.boundingBox();
    // The second row (runtime.main / main.main), near the left.
    await page.mouse.click(box.x + box.width * 0.5, box.y + 18 * 1.5);
    await page.waitForFunction(() => new URL(location.href).searchParams.get('focus'));
    await shot('zoom');
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => !new URL(location.href).searchParams.get('focus'));
  });

  await step('sandwich view shows callers and callees', async () => {
    await page.goto(url({ type: cpu, query: '{service_name="ledger"}', sandwich: 'main.hashFields' }));
    await drawn('flame');
    await page.waitForSelector('[data-testid="sandwich-callers"] canvas');
    await page.waitForSelector('[data-testid="sandwich-callees"] canvas');
    await shot('sandwich');
  });

  await step('comparison shows two selections side by side', async () => {
    await page.goto(url({ view: 'compare', type: wall, query: '{service_name="invoices",version="v1"}', rquery: '{service_name="invoices",version="v2"}' }));
    await drawn('flame-left');
    await drawn('flame-right');
    // The ground truth of node_1 and node_3 (wall/nanoseconds).
    const l = Number(await page.getAttribute('[data-testid="flame-left"]', 'data-ticks'));
    const r = Number(await page.getAttribute('[data-testid="flame-right"]', 'data-ticks'));
    assert(l === 10048171000 && r === 10032792000, `totals ${l} / ${r}`);
    assert(/Total: 10(\.0)? s/.test(await page.innerText('[data-testid="total-left"]')), 'total label');
    await shot('compare');
  });

  await step('diff colours by change and lists the biggest changes', async () => {
    await page.goto(url({ view: 'diff', type: wall, query: '{service_name="invoices",version="v1"}', rquery: '{service_name="invoices",version="v2"}' }));
    await drawn('flame-diff');
    const rows = await page.locator('[data-testid="diff-table"] tbody tr').count();
    assert(rows > 5, `diff table rows ${rows}`);
    await shot('diff');
    // Explain the change: findings about what grew or shrank.
    await page.click('[data-testid="explain-button"]');
    await page.waitForSelector('[data-testid="explain-panel"] [data-testid="finding"]', { timeout: 15000 });
    const heading = await page.innerText('[data-testid="explain-panel"] h3');
    assert(heading === 'What changed', `heading: ${heading}`);
  });

  await step('label explorer: series per value, click opens the flame graph', async () => {
    await page.goto(url({ view: 'labels', type: wall, query: '{service_name="invoices"}', label: 'version' }));
    await page.waitForSelector('[data-testid="label-table"] tbody tr');
    const rows = await page.locator('[data-testid="label-table"] tbody tr').allInnerTexts();
    assert(rows.length === 2 && rows.some((r) => r.startsWith('v1')) && rows.some((r) => r.startsWith('v2')), `rows ${rows}`);
    await shot('labels');
    await page.locator('[data-testid="label-table"] tbody tr', { hasText: 'v2' }).click();
    await page.waitForFunction(() => new URL(location.href).searchParams.get('view') === null);
    assert(decodeURIComponent(page.url()).includes('version="v2"'), `url ${page.url()}`);
    await drawn('flame');
  });

  await step('export pprof decodes with our codec to the same total', async () => {
    await page.goto(url({ type: cpu, query: '{service_name="ledger"}' }));
    await drawn('flame');
    const ticks = Number(await page.getAttribute('[data-testid="flame"]', 'data-ticks'));
    const [download] = await Promise.all([page.waitForEvent('download'), page.selectOption('[data-testid="export"]', 'pprof')]);
    const file = join(out, 'export.pb.gz');
    await download.saveAs(file);
    const folded = execFileSync(bin, ['convert', file, '--to', 'folded']).toString();
    const total = folded.split('\n').filter(Boolean).reduce((s, l) => s + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    assert(total === ticks && total > 0, `pprof total ${total} vs flame graph ${ticks}`);
    for (const kind of ['folded', 'speedscope', 'flamebearer', 'png']) {
      const [d] = await Promise.all([page.waitForEvent('download'), page.selectOption('[data-testid="export"]', kind)]);
      const path = join(out, `export-${kind}${kind === 'png' ? '.png' : '.txt'}`);
      await d.saveAs(path);
      assert(readFileSync(path).length > 100, `${kind} export is empty`);
    }
    const fb = JSON.parse(readFileSync(join(out, 'export-flamebearer.txt')));
    assert(fb.flamebearer.numTicks === ticks, 'flamebearer export total');
  });

  await step('URL carries the view: reload restores it; dark theme', async () => {
    await page.goto(url({ type: cpu, query: '{service_name="ledger"}', search: 'hash', layout: 'flame', theme: 'dark' }));
    await drawn('flame');
    assert((await page.inputValue('[data-testid="search"]')) === 'hash', 'search not restored');
    assert((await page.getAttribute('html', 'data-theme')) === 'dark', 'theme not restored');
    assert(await page.locator('.table-pane').isHidden(), 'layout not restored');
    await shot('dark');
  });

  await step('errors: bad query shows the server message; unknown tenant data is empty', async () => {
    await page.goto(url({ type: cpu, query: '{service_name=' }));
    await page.waitForSelector('[data-testid="status"].error');
    const text = await page.innerText('[data-testid="status"]');
    assert(/rejected/.test(text), `status: ${text}`);
    await shot('error');
  });

  await step('keyboard: 2 opens the comparison, ? the help', async () => {
    await page.goto(url({ type: cpu, query: '{service_name="ledger"}' }));
    await drawn('flame');
    await page.keyboard.press('2');
    await page.waitForSelector('[data-testid="view-compare"]');
    await page.keyboard.press('?');
    await page.waitForSelector('[data-testid="help"]');
  });

  await step('empty state: a server without data explains how to send some', async () => {
    const emptyPort = await freePort();
    const emptyDir = mkdtempSync(join(tmpdir(), 'stackhouse-e2e-empty-'));
    const empty = spawn(bin, ['server', '--http-addr', `127.0.0.1:${emptyPort}`, '--data-dir', emptyDir,
      '--ui-dir', join(ui, 'dist'), '--log-level', 'warn'], { stdio: ['ignore', 'inherit', 'inherit'] });
    try {
      await waitReady(`http://127.0.0.1:${emptyPort}`);
      await page.goto(`http://127.0.0.1:${emptyPort}/`);
      await page.waitForSelector('[data-testid="empty"]');
      const text = await page.innerText('[data-testid="empty"]');
      assert(text.includes('No profiles yet') && text.includes(`127.0.0.1:${emptyPort}/ingest`), text);
      await shot('empty');
    } finally {
      empty.kill('SIGTERM');
    }
    // And once the server is gone, the page says so.
    await new Promise((r) => setTimeout(r, 300));
    await page.reload().catch(() => {});
    rmSync(emptyDir, { recursive: true, force: true });
  });

  await step('no uncaught errors in the page', async () => {
    const unexpected = consoleErrors.filter((e) => !/status of 400|ERR_CONNECTION_REFUSED/.test(e));
    assert(unexpected.length === 0, unexpected.join('\n'));
  });
} finally {
  await browser?.close();
  server.kill('SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });
}

const failed = results.filter((r) => !r.ok).length;
console.log(`e2e: ${results.length - failed} passed, ${failed} failed (screenshots in ${out})`);
process.exit(failed ? 1 : 0);
