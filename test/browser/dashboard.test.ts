// The dashboard in a real headless browser (Debian's chromium through puppeteer-core): 3 nodes, the
// page shows 3 nodes and 256 cells; after a kill -9 of one node it shows that node dead and no cell
// coloured by it within 5 s. Keeps a screenshot in .artifacts/dashboard.png (git-ignored).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer, { type Browser } from 'puppeteer-core';
import { cleanup, killNode } from '../helpers/nodes.js';
import { startCluster, waitForGoalState } from '../helpers/cluster.js';
import { httpPortOf } from '../helpers/http.js';
import { Cluster } from '../../src/index.js';

const CHROMIUM = '/usr/bin/chromium';

/** The little of the DOM that the functions run in the page use (the project compiles without lib "dom"). */
interface PageElement {
  dataset: Record<string, string | undefined>;
}
declare const document: {
  querySelectorAll(selector: string): ArrayLike<PageElement> & Iterable<PageElement>;
  querySelector(selector: string): PageElement | null;
  body: PageElement;
};
/** The repository root, seen from dist/test/browser. */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const ARTIFACTS = join(ROOT, '.artifacts');

let browser: Browser | null = null;
after(async () => {
  await browser?.close();
  await cleanup();
});

const missing = existsSync(CHROMIUM) ? false : `chromium is not installed at ${CHROMIUM} (apt-get install chromium; .ci/run does)`;

test('the dashboard shows 3 nodes and 256 buckets, and a killed node dead with no bucket within 5 s', { skip: missing }, async () => {
  const nodes = await startCluster(3, { args: ['--http', '0', '--heartbeat-ms', '100', '--dead-after-ms', '1000'] });
  const [a, , c] = nodes as [typeof nodes[0], typeof nodes[0], typeof nodes[0]];
  await waitForGoalState(nodes.map((n) => n.addr));
  const port = await httpPortOf(a);
  // A little traffic, so the chart and the request rates have something to show.
  const client = new Cluster({ seeds: [a.addr], requestTimeoutMs: 10_000 });
  await client.connect();
  for (let i = 0; i < 300; i++) await client.set(`k${i}`, `v${i}`);

  browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 760 });
  await page.goto(`http://127.0.0.1:${port}/`, { waitUntil: 'domcontentloaded' });

  await page.waitForFunction(() => document.querySelectorAll('#nodes tr[data-state="alive"]').length === 3 && document.querySelectorAll('#grid .cell').length === 256, { timeout: 15_000 });
  const owners = await page.$$eval('#grid .cell', (cells) => [...new Set(cells.map((el) => (el as unknown as PageElement).dataset['primary']))].sort());
  assert.deepEqual(owners, nodes.map((n) => n.addr).sort(), 'every node colours some cells');
  const rows = await page.$$eval('#nodes tr', (trs) => trs.map((tr) => (tr as unknown as PageElement).dataset['addr']).sort());
  assert.deepEqual(rows, nodes.map((n) => n.addr).sort());
  for (let i = 0; i < 200; i++) await client.get(`k${i}`);
  // The chart and the node rows show the traffic (state pushed every second).
  await page.waitForFunction(() => Number(document.body.dataset['peakRequestsPerSec']) > 0, { timeout: 10_000 });

  await killNode(c);
  await page.waitForFunction(
    (dead: string) => {
      const row = document.querySelector(`#nodes tr[data-addr="${dead}"]`);
      const cells = [...document.querySelectorAll('#grid .cell')];
      return row?.dataset['state'] === 'dead' && cells.length === 256 && cells.every((el) => el.dataset['primary'] !== dead && el.dataset['primary'] !== '');
    },
    { timeout: 5000 },
    c.addr,
  );
  const coloured = await page.$$eval('#grid .cell', (cells, dead) => cells.filter((el) => (el as unknown as PageElement).dataset['primary'] === dead).length, c.addr);
  assert.equal(coloured, 0);
  await client.close();

  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png') as `${string}.png`, fullPage: true });
});
