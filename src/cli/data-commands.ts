// The CLI's data commands: get, set, del, map get|set|del|keys|all, ping and stats, each with
// --cluster HOST:PORT and --json. Exit 0 ok, 1 not found, 2 usage or connection error.
import { Command } from 'commander';
import { parseExpires, parseValueType, readValueSource, UsageError, type CliValue } from './args.js';
import { EXIT_NOT_FOUND, EXIT_OK, printError, printJson, printLine, valueToJson, valueToText, valueTypeOf } from './output.js';
import { addClusterAccessOptions, asAdmin, runCommand, type CommonOptions } from './session.js';
import { DEFAULT_LISTEN } from '../shared/limits.js';
import { statsInfoLines } from './stats-text.js';

interface SetOptions extends CommonOptions {
  type?: string;
  expires?: string;
  ifAbsent?: boolean;
  ifExists?: boolean;
  /** Read the value from this file (set, map set). */
  file?: string;
}

/** A command with the options every data command takes. */
export function dataCommand(parent: Command, name: string, description: string): Command {
  const cmd = parent
    .command(name)
    .description(description)
    .option('--cluster <host:port>', 'any node of the cluster', DEFAULT_LISTEN)
    .option('--json', 'print JSON instead of text');
  return addClusterAccessOptions(cmd);
}

function withWriteOptions(cmd: Command): Command {
  return cmd
    .option('--type <type>', 'value type: int (32-bit), long (64-bit), string, binary (base64)', 'string')
    .option('--expires <seconds>', 'expire after this many seconds (0 = never)')
    .option('--file <path>', 'read the value from this file (VALUE "-" reads it from stdin)');
}

export function registerDataCommands(program: Command): void {
  registerGet(program);
  registerSet(program);
  registerDel(program);
  registerMap(program);
  registerPing(program);
  registerStats(program);
}

function registerGet(program: Command): void {
  dataCommand(program, 'get', 'print the value of KEY (exit 1 when missing)')
    .argument('<key>')
    .action((key: string, opts: CommonOptions) =>
      runCommand(opts, () => undefined, async (cluster) => printFound({ key }, await cluster.get(key), opts)),
    );
}

function registerSet(program: Command): void {
  withWriteOptions(dataCommand(program, 'set', 'store VALUE under KEY (VALUE "-": from stdin; or --file PATH)'))
    .argument('<key>')
    .argument('[value]')
    .option('--if-absent', 'store only if KEY does not exist (exit 1 when it does)')
    .option('--if-exists', 'store only if KEY exists (exit 1 when it does not)')
    .action((key: string, text: string | undefined, opts: SetOptions) =>
      runCommand(opts, () => parseWrite(text, opts), async (cluster, w) => {
        if (opts.ifAbsent === true || opts.ifExists === true) {
          const wrote = await cluster.set(key, w.value, { ...w.setOpts, ...(opts.ifAbsent === true ? { ifAbsent: true } : { ifExists: true }) });
          if (!wrote) return printNotWritten({ key }, opts);
        } else {
          await cluster.set(key, w.value, w.setOpts);
        }
        return printWritten({ key }, w.value, opts);
      }),
    );
}

function registerDel(program: Command): void {
  dataCommand(program, 'del', 'delete KEY (exit 1 when missing)')
    .argument('<key>')
    .action((key: string, opts: CommonOptions) =>
      runCommand(opts, () => undefined, async (cluster) => printDeleted({ key }, await cluster.delete(key), opts)),
    );
}

function registerMap(program: Command): void {
  const map = program.command('map').description('work with maps: get|set|del|keys|all');
  dataCommand(map, 'get', 'print the value of KEY in MAP (exit 1 when missing)')
    .argument('<map>')
    .argument('<key>')
    .action((name: string, key: string, opts: CommonOptions) =>
      runCommand(opts, () => undefined, async (cluster) => printFound({ map: name, key }, await cluster.map(name).get(key), opts)),
    );
  withWriteOptions(dataCommand(map, 'set', 'store VALUE under KEY in MAP (VALUE "-": from stdin; or --file PATH)'))
    .argument('<map>')
    .argument('<key>')
    .argument('[value]')
    .action((name: string, key: string, text: string | undefined, opts: SetOptions) =>
      runCommand(opts, () => parseWrite(text, opts), async (cluster, w) => {
        await cluster.map(name).set(key, w.value, w.setOpts);
        return printWritten({ map: name, key }, w.value, opts);
      }),
    );
  dataCommand(map, 'del', 'delete KEY from MAP (exit 1 when missing)')
    .argument('<map>')
    .argument('<key>')
    .action((name: string, key: string, opts: CommonOptions) =>
      runCommand(opts, () => undefined, async (cluster) => printDeleted({ map: name, key }, await cluster.map(name).delete(key), opts)),
    );
  registerMapReads(map);
  rejectMissingSubcommand(map, 'map');
}

function registerMapReads(map: Command): void {
  dataCommand(map, 'keys', 'list the keys of MAP, one a line')
    .argument('<map>')
    .action((name: string, opts: CommonOptions) =>
      runCommand(opts, () => undefined, async (cluster) => {
        const keys = [...(await cluster.map(name).keys())].sort();
        if (opts.json) printJson({ map: name, keys });
        else for (const k of keys) printLine(k);
        return EXIT_OK;
      }),
    );
  dataCommand(map, 'all', 'print every entry of MAP, "key<TAB>value" a line')
    .argument('<map>')
    .action((name: string, opts: CommonOptions) =>
      runCommand(opts, () => undefined, async (cluster) => {
        const all = await cluster.map(name).getAll();
        const keys = [...all.keys()].sort();
        if (opts.json) printJson({ map: name, entries: keys.map((k) => ({ key: k, ...typedJson(all.get(k)!) })) });
        else for (const k of keys) printLine(`${k}\t${valueToText(all.get(k)!)}`);
        return EXIT_OK;
      }),
    );
}

function registerPing(program: Command): void {
  dataCommand(program, 'ping', 'check that the node answers, print the round trip').action((opts: CommonOptions) =>
    runCommand(opts, () => undefined, async (cluster) => {
      const rttMs = await cluster.ping();
      if (opts.json) printJson({ ok: true, rttMs });
      else printLine(`PONG ${rttMs.toFixed(2)} ms`);
      return EXIT_OK;
    }),
  );
}

function registerStats(program: Command): void {
  dataCommand(program, 'stats', "print each connected node's statistics").action((opts: CommonOptions) =>
    runCommand(opts, () => undefined, async (cluster) => {
      const stats: unknown[] = await asAdmin('stats', () => cluster.stats());
      if (opts.json) printJson(stats);
      else for (const s of stats) printStatsText(s);
      return EXIT_OK;
    }),
  );
}

/** A map command given no subcommand, or an unknown one: a one-line usage error. */
export function rejectMissingSubcommand(cmd: Command, name: string): void {
  cmd.helpCommand(true);
  cmd.allowExcessArguments(true).action((_opts: unknown, self: Command) => {
    // Listed when used: commands registered later (batch-commands.ts) are among them.
    const choices = cmd.commands.map((c) => c.name()).filter((n) => n !== 'help').join('|');
    const given = self.args[0];
    throw new UsageError(given === undefined ? `${name} needs a subcommand: ${choices}` : `unknown ${name} subcommand "${given}" (expected ${choices})`);
  });
}

interface WriteArgs {
  value: CliValue;
  setOpts: { expiresSec?: number };
}

function parseWrite(text: string | undefined, opts: SetOptions): WriteArgs {
  if (opts.ifAbsent === true && opts.ifExists === true) throw new UsageError('give --if-absent or --if-exists, not both');
  const value = readValueSource(parseValueType(opts.type), text, opts.file);
  const expiresSec = parseExpires(opts.expires);
  return { value, setOpts: expiresSec === undefined ? {} : { expiresSec } };
}

export type Target = { key: string; map?: string };

function describeTarget(t: Target): string {
  return t.map === undefined ? `key "${t.key}"` : `key "${t.key}" in map "${t.map}"`;
}

export function typedJson(value: CliValue): { type: string; value: string | number } {
  return { type: valueTypeOf(value), value: valueToJson(value) };
}

export function printFound(target: Target, value: CliValue | null, opts: CommonOptions): number {
  if (value === null) {
    printError(`not found: ${describeTarget(target)}`);
    if (opts.json) printJson({ ...target, found: false });
    return EXIT_NOT_FOUND;
  }
  if (opts.json) printJson({ ...target, ...typedJson(value) });
  else printLine(valueToText(value));
  return EXIT_OK;
}

function printWritten(target: Target, value: CliValue, opts: CommonOptions): number {
  if (opts.json) printJson({ ok: true, ...target, ...typedJson(value) });
  else printLine('OK');
  return EXIT_OK;
}

/** A conditional set that did not write: exit 1. */
function printNotWritten(target: Target, opts: SetOptions): number {
  const why = opts.ifAbsent === true ? 'exists' : 'does not exist';
  if (opts.json) printJson({ ok: false, ...target, written: false });
  else printError(`not stored: ${describeTarget(target)} ${why}`);
  return EXIT_NOT_FOUND;
}

function printDeleted(target: Target, existed: boolean, opts: CommonOptions): number {
  if (!existed) {
    printError(`not found: ${describeTarget(target)}`);
    if (opts.json) printJson({ ...target, deleted: false });
    return EXIT_NOT_FOUND;
  }
  if (opts.json) printJson({ ...target, deleted: true });
  else printLine('deleted');
  return EXIT_OK;
}

/** Stats as text: INFO-like sections per node, nodes separated by their address. */
function printStatsText(stats: unknown): void {
  const addr = isRecord(stats) && typeof stats['addr'] === 'string' ? stats['addr'] : '(unknown node)';
  printLine(`== ${addr}`);
  for (const line of statsInfoLines(stats)) printLine(line);
  printLine('');
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
