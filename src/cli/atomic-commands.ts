// The CLI's atomic commands: incr and decr (--by, --initial, --long, --expires), getset and getdel,
// each with the data commands' --cluster and --json. Exit 0 ok, 1 nothing to take (getdel of a
// missing key), 2 usage or connection error (OVERFLOW, WRONG_TYPE included).
import type { Command } from 'commander';
import { parseExpires, parseInt64, parseTypedValue, parseValueType, UsageError, type CliValue } from './args.js';
import { dataCommand } from './data-commands.js';
import { EXIT_NOT_FOUND, EXIT_OK, printError, printJson, printLine, valueToJson, valueToText, valueTypeOf } from './output.js';
import { runCommand, type CommonOptions } from './session.js';

interface IncrCliOptions extends CommonOptions {
  by: string;
  initial?: string;
  long?: boolean;
  expires?: string;
}

interface GetSetCliOptions extends CommonOptions {
  type?: string;
  expires?: string;
}

const INT32_MIN = -(2n ** 31n);
const INT32_MAX = 2n ** 31n - 1n;

export function registerAtomicCommands(program: Command): void {
  registerIncr(program, 'incr', 1n);
  registerIncr(program, 'decr', -1n);
  registerGetSet(program);
  registerGetDel(program);
}

interface IncrArgs {
  by: number | bigint;
  initial: number | bigint;
  expiresSec?: number;
}

/** --by and --initial as ints (numbers), or as longs (bigints) with --long or when outside the int range. */
function parseIncr(opts: IncrCliOptions, sign: bigint): IncrArgs {
  const by = parseInt64(opts.by) * sign;
  const initial = parseInt64(opts.initial ?? '0');
  const asLong = opts.long === true || by < INT32_MIN || by > INT32_MAX || initial < INT32_MIN || initial > INT32_MAX;
  if (by < -(2n ** 63n) || by > 2n ** 63n - 1n) throw new UsageError(`--by ${opts.by} is outside the long range`);
  const expiresSec = parseExpires(opts.expires);
  return {
    by: asLong ? by : Number(by),
    initial: asLong ? initial : Number(initial),
    ...(expiresSec === undefined ? {} : { expiresSec }),
  };
}

function registerIncr(program: Command, name: string, sign: bigint): void {
  const verb = sign > 0n ? 'add' : 'subtract';
  const what = sign > 0n ? 'add --by (default 1) to the int or long at KEY' : 'subtract --by (default 1) from the int or long at KEY';
  dataCommand(program, name, `${what} atomically, print the new value`)
    .argument('<key>')
    .option('--by <n>', `the amount to ${verb}`, '1')
    .option('--initial <n>', 'the value a missing KEY starts from', '0')
    .option('--long', 'a missing KEY becomes a long (64-bit), not an int')
    .option('--expires <seconds>', 'expiry of a KEY this creates (an existing KEY keeps its own)')
    .action((key: string, opts: IncrCliOptions) =>
      runCommand(opts, () => parseIncr(opts, sign), async (cluster, a) => {
        const value = await cluster.incr(key, a.by, { initial: a.initial, ...(a.expiresSec === undefined ? {} : { expiresSec: a.expiresSec }) });
        printValue(key, value, opts);
        return EXIT_OK;
      }),
    );
}

function registerGetSet(program: Command): void {
  dataCommand(program, 'getset', 'store VALUE under KEY, print the value it replaced (nothing when none)')
    .argument('<key>')
    .argument('<value>')
    .option('--type <type>', 'value type: int (32-bit), long (64-bit), string, binary (base64)', 'string')
    .option('--expires <seconds>', 'expire after this many seconds (0 = never)')
    .action((key: string, text: string, opts: GetSetCliOptions) =>
      runCommand(
        opts,
        () => ({ value: parseTypedValue(parseValueType(opts.type), text), expiresSec: parseExpires(opts.expires) }),
        async (cluster, a) => {
          const old = await cluster.getAndSet(key, a.value, a.expiresSec === undefined ? {} : { expiresSec: a.expiresSec });
          if (opts.json) printJson({ key, old: old === null ? null : { type: valueTypeOf(old), value: valueToJson(old) } });
          else if (old !== null) printLine(valueToText(old));
          return EXIT_OK;
        },
      ),
    );
}

function registerGetDel(program: Command): void {
  dataCommand(program, 'getdel', 'delete KEY, print the value it held (exit 1 when missing)')
    .argument('<key>')
    .action((key: string, opts: CommonOptions) =>
      runCommand(opts, () => undefined, async (cluster) => {
        const old = await cluster.getAndDelete(key);
        if (old === null) {
          printError(`not found: key "${key}"`);
          return EXIT_NOT_FOUND;
        }
        printValue(key, old, opts);
        return EXIT_OK;
      }),
    );
}

function printValue(key: string, value: CliValue, opts: CommonOptions): void {
  if (opts.json) printJson({ key, type: valueTypeOf(value), value: valueToJson(value) });
  else printLine(valueToText(value));
}
