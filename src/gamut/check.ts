// gamut's feature check: runs every case against the live cluster under its own key prefix, bounded in
// time, cleans every key it wrote (also after a failure), and renders the pass/fail table.
import { performance } from 'node:perf_hooks';
import type { Cluster } from '../index.js';
import { CASES, type CheckCase } from './check-cases.js';
import { CheckContext, CheckFailed, CheckSkipped, CLEANUP_TIMEOUT_MS, withTimeout } from './check-context.js';
import { renderTable } from './summary.js';

export type CheckStatus = 'pass' | 'fail' | 'skip';

export interface CheckResult {
  name: string;
  status: CheckStatus;
  ms: number;
  detail: string;
}

async function runCase(ctx: CheckContext, c: CheckCase): Promise<CheckResult> {
  const t0 = performance.now();
  const done = (status: CheckStatus, detail: string): CheckResult => ({ name: c.name, status, ms: Math.round((performance.now() - t0) * 10) / 10, detail });
  try {
    const detail = await withTimeout(c.run(ctx), c.timeoutMs, c.name);
    return done('pass', detail);
  } catch (e) {
    if (e instanceof CheckSkipped) return done('skip', e.message);
    return done('fail', describe(e));
  }
}

function describe(e: unknown): string {
  if (e instanceof CheckFailed) return e.message;
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return `${e.name}${typeof code === 'string' ? ` ${code}` : ''}: ${e.message}`;
  }
  return String(e);
}

export interface CheckOptions {
  prefix: string;
  /** Only the cases whose name contains this text (all when undefined). */
  only?: string;
  onResult?: (r: CheckResult) => void;
}

/** Runs every case in order; the last row reports the cleanup. Never throws for a failed case. */
export async function runCheck(cluster: Cluster, opts: CheckOptions): Promise<CheckResult[]> {
  const ctx = new CheckContext(cluster, opts.prefix);
  const results: CheckResult[] = [];
  const push = (r: CheckResult): void => {
    results.push(r);
    opts.onResult?.(r);
  };
  try {
    for (const c of CASES) {
      if (opts.only !== undefined && !c.name.includes(opts.only)) continue;
      push(await runCase(ctx, c));
    }
  } finally {
    push(await runCase(ctx, { name: 'cleanup', timeoutMs: CLEANUP_TIMEOUT_MS + 1000, run: cleanupCase }));
  }
  return results;
}

async function cleanupCase(ctx: CheckContext): Promise<string> {
  const total = ctx.keys.size + ctx.maps.size;
  const failed = await ctx.cleanup();
  if (failed > 0) throw new CheckFailed(`${failed} of ${total} deletes failed`);
  return `${total} keys and maps deleted`;
}

export function checkFailed(results: readonly CheckResult[]): boolean {
  return results.some((r) => r.status === 'fail');
}

export function checkTable(results: readonly CheckResult[]): string {
  const rows = [['check', 'result', 'ms', 'detail']];
  for (const r of results) rows.push([r.name, r.status.toUpperCase(), r.ms.toFixed(1), r.detail]);
  const passed = results.filter((r) => r.status === 'pass').length;
  const failed = results.filter((r) => r.status === 'fail').length;
  const skipped = results.length - passed - failed;
  return `${renderTable(rows, [false, false, true, false])}\n${passed} passed, ${failed} failed, ${skipped} skipped`;
}
