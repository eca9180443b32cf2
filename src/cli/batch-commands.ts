// The CLI commands that catch up with the library: ttl, exists, expire, persist, mget, mset,
// scan [PREFIX], map count, map clear. Same options, exit codes and --json as data-commands.ts.
import type { Command } from 'commander';
import { BatchError } from '../index.js';
import { parseExpires, parseTypedValue, parseValueType, UsageError, type CliValue } from './args.js';
import { dataCommand, typedJson, type Target } from './data-commands.js';
import { EXIT_NOT_FOUND, EXIT_OK, printError, printJson, printLine, valueToText } from './output.js';
import { runCommand, type CommonOptions } from './session.js';

interface MsetCliOptions extends CommonOptions {
  type?: string;
  expires?: string;
}

interface ScanCliOptions extends CommonOptions {
  count?: string;
  map?: string;
}

export function registerBatchCommands(program: Command): void {
  registerKeyMeta(program);
  registerMget(program);
  registerMset(program);
  registerScan(program);
  const map = program.commands.find((c) => c.name() === 'map');
  if (map !== undefined) registerMapMore(map);
}

function notFound(target: Target, opts: CommonOptions, json: Record<string, unknown>): number {
  printError(`not found: key "${target.key}"`);
  if (opts.json) printJson({ ...target, ...json });
  return EXIT_NOT_FOUND;
}

function registerKeyMeta(program: Command): void {
  dataCommand(program, 'ttl', 'print the ms KEY has left (-1: no expiry; exit 1 when missing)')
    .argument('<key>')
    .action((key: string, opts: CommonOptions) =>
      runCommand(opts, () => undefined, async (cluster) => {
        const ms = await cluster.ttl(key);
        if (ms === -2) return notFound({ key }, opts, { found: false });
        if (opts.json) printJson({ key, ttlMs: ms });
        else printLine(ms === -1 ? '-1 (no expiry)' : `${ms}`);
        return EXIT_OK;
      }),
    );
  dataCommand(program, 'exists', 'print whether KEY exists (exit 1 when it does not)')
    .argument('<key>')
    .action((key: string, opts: CommonOptions) =>
      runCommand(opts, () => undefined, async (cluster) => {
        const found = await cluster.exists(key);
        if (opts.json) printJson({ key, exists: found });
        else printLine(found ? 'yes' : 'no');
        return found ? EXIT_OK : EXIT_NOT_FOUND;
      }),
    );
  dataCommand(program, 'expire', 'make KEY expire SECONDS from now (0: never; exit 1 when missing)')
    .argument('<key>')
    .argument('<seconds>')
    .action((key: string, text: string, opts: CommonOptions) =>
      runCommand(opts, () => parseExpires(text)!, async (cluster, seconds) => {
        if (!(await cluster.expire(key, seconds))) return notFound({ key }, opts, { ok: false, found: false });
        if (opts.json) printJson({ ok: true, key, expiresSec: seconds });
        else printLine('OK');
        return EXIT_OK;
      }),
    );
  dataCommand(program, 'persist', 'remove the expiry of KEY (exit 1 when missing)')
    .argument('<key>')
    .action((key: string, opts: CommonOptions) =>
      runCommand(opts, () => undefined, async (cluster) => {
        if (!(await cluster.expire(key, 0))) return notFound({ key }, opts, { ok: false, found: false });
        if (opts.json) printJson({ ok: true, key });
        else printLine('OK');
        return EXIT_OK;
      }),
    );
}

/** A failed batch: one line per failed key, and (--json) every key's outcome. */
function reportBatchError(e: unknown, keys: string[], opts: CommonOptions): never | number {
  if (!(e instanceof BatchError)) throw e;
  e.results.forEach((r, i) => {
    if (!r.ok) printError(`key "${keys[i]}": ${r.error.code}: ${r.error.message}`);
  });
  if (opts.json) {
    printJson({ ok: false, error: e.code, results: e.results.map((r, i) => (r.ok ? { key: keys[i], ok: true } : { key: keys[i], ok: false, error: r.error.code, message: r.error.message })) });
  }
  return 2;
}

function registerMget(program: Command): void {
  dataCommand(program, 'mget', 'print the values of KEYs, one a line in order ("(nil)" when missing)')
    .argument('<keys...>')
    .action((keys: string[], opts: CommonOptions) =>
      runCommand(opts, () => undefined, async (cluster) => {
        let values: (CliValue | null)[];
        try {
          values = await cluster.mget(keys);
        } catch (e) {
          return reportBatchError(e, keys, opts);
        }
        if (opts.json) printJson({ results: values.map((v, i) => (v === null ? { key: keys[i], found: false } : { key: keys[i], found: true, ...typedJson(v) })) });
        else for (const v of values) printLine(v === null ? '(nil)' : valueToText(v));
        return EXIT_OK;
      }),
    );
}

function registerMset(program: Command): void {
  dataCommand(program, 'mset', 'store each VALUE under its KEY: mset K1 V1 [K2 V2 ...]')
    .option('--type <type>', 'value type of every VALUE: int, long, string, binary (base64)', 'string')
    .option('--expires <seconds>', 'expire each after this many seconds (0 = never)')
    .argument('<pairs...>')
    .action((pairs: string[], opts: MsetCliOptions) =>
      runCommand(
        opts,
        () => {
          if (pairs.length % 2 !== 0) throw new UsageError(`mset needs KEY VALUE pairs; got ${pairs.length} words`);
          const type = parseValueType(opts.type);
          const entries: [string, CliValue][] = [];
          for (let i = 0; i < pairs.length; i += 2) entries.push([pairs[i]!, parseTypedValue(type, pairs[i + 1]!)]);
          const expiresSec = parseExpires(opts.expires);
          return { entries, setOpts: expiresSec === undefined ? {} : { expiresSec } };
        },
        async (cluster, w) => {
          try {
            await cluster.mset(w.entries, w.setOpts);
          } catch (e) {
            return reportBatchError(e, w.entries.map(([k]) => k), opts);
          }
          if (opts.json) printJson({ ok: true, keys: w.entries.length });
          else printLine('OK');
          return EXIT_OK;
        },
      ),
    );
}

function parseCount(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 10_000) throw new UsageError(`--count must be an integer 1..10000, not "${text}"`);
  return Number(text);
}

function registerScan(program: Command): void {
  dataCommand(program, 'scan', 'list every key (with PREFIX, or of --map NAME), one a line, bucket by bucket')
    .option('--count <n>', 'keys per request (1..10000)')
    .option('--map <name>', "list this map's keys instead of the plain keys")
    .argument('[prefix]')
    .action((prefix: string | undefined, opts: ScanCliOptions) =>
      runCommand(opts, () => parseCount(opts.count), async (cluster, count) => {
        const keys: string[] = [];
        const it = opts.map === undefined ? cluster.scan({ prefix, count }) : cluster.map(opts.map).scan({ prefix, count });
        for await (const k of it) {
          if (opts.json) keys.push(k);
          else printLine(k);
        }
        if (opts.json) printJson({ ...(opts.map === undefined ? {} : { map: opts.map }), ...(prefix === undefined ? {} : { prefix }), keys });
        return EXIT_OK;
      }),
    );
}

function registerMapMore(map: Command): void {
  dataCommand(map, 'count', 'print how many entries MAP has')
    .argument('<map>')
    .action((name: string, opts: CommonOptions) =>
      runCommand(opts, () => undefined, async (cluster) => {
        const n = await cluster.map(name).count();
        if (opts.json) printJson({ map: name, count: n });
        else printLine(String(n));
        return EXIT_OK;
      }),
    );
  dataCommand(map, 'clear', 'delete every entry of MAP (exit 1 when it was empty)')
    .argument('<map>')
    .action((name: string, opts: CommonOptions) =>
      runCommand(opts, () => undefined, async (cluster) => {
        const existed = await cluster.map(name).clear();
        if (opts.json) printJson({ map: name, cleared: existed });
        else if (existed) printLine('cleared');
        if (!existed) printError(`not found: map "${name}"`);
        return existed ? EXIT_OK : EXIT_NOT_FOUND;
      }),
    );
}


