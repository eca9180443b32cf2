// The gamut HTML report opened in headless Chromium (Debian's, through puppeteer-core): two load
// rounds of 2 s against a real node, then the page must show throughput and latency over time for
// every round at 100 ms resolution, the names people read, only the settings given, and the
// cluster and machine it measured.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import puppeteer from 'puppeteer-core';
import { cleanup, makeTempDir, runCli, startNode } from '../helpers/nodes.js';

const CHROMIUM = '/usr/bin/chromium';
const ROUNDS = 2;
const ROUND_SEC = 2;
/** Points per round: one per 100 ms, plus perhaps one for the last partial interval. */
const POINTS_MIN = ROUND_SEC * 10;
const POINTS_MAX = ROUND_SEC * 10 + 1;

after(cleanup);

interface Line {
  series: string;
  declared: number;
  drawn: number;
}

test('the gamut report in headless Chromium: charts per round at 100 ms, readable names, cluster and machine', { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (.ci/run installs it)`, timeout: 120_000 }, async () => {
  const node = await startNode();
  const report = join(makeTempDir('oc-report-'), 'report.html');
  const r = await runCli(['gamut', '--cluster', node.addr, '--duration', String(ROUND_SEC), '--rounds', String(ROUNDS), '--keys', '300', '--inflight', '4', '--report', report], 90_000);
  assert.equal(r.code, 0, r.stderr);
  const browser = await puppeteer.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--headless'] });
  try {
    const page = await browser.newPage();
    await page.goto(pathToFileURL(report).href);
    const lines = (chart: string): Promise<Line[]> =>
      page.evaluate(`[...document.querySelectorAll('svg[data-chart="${chart}"] polyline')].map((p) => ({
        series: p.getAttribute('data-series'), declared: Number(p.getAttribute('data-points')),
        drawn: p.getAttribute('points').trim().split(/\\s+/).length }))`) as Promise<Line[]>;
    const throughput = await lines('throughput');
    assert.deepEqual(throughput.map((l) => l.series), ['ours round 1', 'ours round 2'], 'one throughput line per round');
    const latency = await lines('latency');
    assert.deepEqual(latency.map((l) => l.series), ['ours round 1 p50', 'ours round 1 p99', 'ours round 2 p50', 'ours round 2 p99']);
    for (const l of [...throughput, ...latency]) {
      assert.equal(l.drawn, l.declared, `${l.series}: every point drawn`);
      assert.ok(l.drawn >= POINTS_MIN && l.drawn <= POINTS_MAX, `${l.series}: ${l.drawn} points for ${ROUND_SEC} s at 100 ms`);
    }
    const text = (await page.evaluate('document.body.innerText')) as string;
    for (const name of ['ops/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'Throughput over time', 'Latency over time', 'each round runs', `${ROUND_SEC} s`]) {
      assert.ok(text.includes(name), `"${name}" on the page`);
    }
    for (const internal of ['opsPerSec', 'p999Ms', 'p50Ms', 'requestsMax', '100000000', 'durationSec', 'valueBytes']) {
      assert.ok(!text.includes(internal), `no internal name "${internal}" on the page`);
    }
    const rows = (await page.evaluate(`Object.fromEntries([...document.querySelectorAll('tr')].map((tr) => [...tr.querySelectorAll('td')].map((td) => td.innerText)).filter((c) => c.length === 2))`)) as Record<string, string>;
    assert.equal(rows['cluster nodes'], '1');
    assert.match(rows['OpenCluster version'] ?? '', /^\d+\.\d+\.\d+ \(1 node\)$/);
    assert.equal(rows['cores'], String(cpus().length));
    assert.equal(rows['CPU'], cpus()[0]!.model.trim());
    assert.equal(rows['Node.js'], process.version);
    assert.equal(rows['rounds'], String(ROUNDS));
  } finally {
    await browser.close();
  }
});
