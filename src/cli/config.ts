// Where a command's options come from besides its flags: a config file (--config FILE, YAML or
// JSON, keys = the long option names) and environment variables (OPENCLUSTER_ + the long name in
// upper snake case). Flags win over the environment, which wins over the file, which wins over the
// defaults. The keys are derived from the command's own commander options, so a new option is
// covered without a list to keep. The config names files (users, secret, TLS keys), never secrets.
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, type Option } from 'commander';
import { parseDocument, stringify } from 'yaml';
import { UsageError } from './args.js';
import { printLine } from './output.js';

/** The options that steer the config itself: never read from a file or the environment. */
const OWN_OPTIONS = new Set(['config', 'print-config']);
export const ENV_PREFIX = 'OPENCLUSTER_';
/** A config file larger than this is refused (a config is a few hundred bytes). */
const CONFIG_BYTES_MAX = 1024 * 1024;
/** Values of a repeatable option read from one key or variable, at most. */
const LIST_ITEMS_MAX = 1024;

export type ValueOrigin = 'default' | 'file' | 'env' | 'flag' | 'unset';

/** Adds --config and --print-config to cmd, and fills its options from the file and the environment before its action runs. */
export function addConfigSources(cmd: Command): Command {
  cmd
    .option('--config <file>', 'read options from this YAML (or JSON) file; flags and OPENCLUSTER_* variables win over it')
    .option('--print-config', 'print every option, its value and where it came from (default, file, env, flag), then exit 0');
  // commander checks required options before any hook: they are checked here, after the merge.
  const required = cmd.options.filter((o) => o.mandatory);
  for (const o of required) o.makeOptionMandatory(false);
  cmd.hook('preAction', (self) => {
    applySources(self, process.env);
    for (const o of required) {
      if (self.getOptionValue(o.attributeName()) === undefined) throw new UsageError(`required option '${o.flags}' not specified (as a flag, ${envName(o)}, or "${longName(o)}" in the --config file)`);
    }
  });
  return cmd;
}

/** The environment variable of an option: --max-connections -> OPENCLUSTER_MAX_CONNECTIONS. */
export function envName(option: Option): string {
  return ENV_PREFIX + longName(option).toUpperCase().replace(/-/g, '_');
}

function longName(option: Option): string {
  return (option.long ?? option.attributeName()).replace(/^--/, '');
}

function configurable(cmd: Command): Option[] {
  return cmd.options.filter((o) => o.long !== undefined && !OWN_OPTIONS.has(longName(o)));
}

/** Env over file over default; flags were already set by commander and are left alone. */
export function applySources(cmd: Command, env: NodeJS.ProcessEnv): void {
  const options = configurable(cmd);
  const file = cmd.getOptionValue('config') as string | undefined;
  const fromFile = file === undefined ? new Map<Option, unknown>() : readConfigFile(file, options);
  for (const option of options) {
    const key = option.attributeName();
    const source = cmd.getOptionValueSource(key);
    if (source === 'cli') continue;
    const text = env[envName(option)];
    // An empty variable counts as not set.
    if (text !== undefined && text !== '') {
      cmd.setOptionValueWithSource(key, fromEnv(option, text), 'env');
      continue;
    }
    if (fromFile.has(option)) cmd.setOptionValueWithSource(key, convert(option, fromFile.get(option), `${file}: ${longName(option)}`), 'config');
  }
}

/** The file's keys mapped to options; an unknown key, or a file that is not a mapping, is a usage error. */
function readConfigFile(file: string, options: Option[]): Map<Option, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`--config ${file}: cannot read it: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  if (text.length > CONFIG_BYTES_MAX) throw new UsageError(`--config ${file}: larger than ${CONFIG_BYTES_MAX} bytes`);
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) throw new UsageError(`--config ${file}: not valid YAML or JSON: ${doc.errors[0]!.message}`);
  const data: unknown = doc.toJS();
  const out = new Map<Option, unknown>();
  if (data === null || data === undefined) return out;
  if (typeof data !== 'object' || Array.isArray(data)) throw new UsageError(`--config ${file}: expected a mapping of option names to values`);
  for (const [key, value] of Object.entries(data as Record<string, unknown>)) {
    const option = options.find((o) => longName(o) === key || o.attributeName() === key);
    if (option === undefined) {
      const own = OWN_OPTIONS.has(key) ? ' (it can only be a flag)' : '';
      throw new UsageError(`--config ${file}: unknown key "${key}"${own}; the keys are the long option names: ${options.map(longName).join(', ')}`);
    }
    if (out.has(option)) throw new UsageError(`--config ${file}: "${key}" is given twice`);
    out.set(option, value);
  }
  return out;
}

/** A value from the environment: booleans as true/false/1/0/yes/no, lists (repeatable options) split on commas. */
function fromEnv(option: Option, text: string): unknown {
  const where = envName(option);
  if (option.isBoolean()) {
    const t = text.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(t)) return true;
    if (['0', 'false', 'no', 'off', ''].includes(t)) return undefined;
    throw new UsageError(`${where} must be true or false, got "${text}"`);
  }
  const value = repeatable(option) ? text.split(',').map((s) => s.trim()).filter((s) => s !== '') : text;
  return convert(option, value, where);
}

/** A value from the file or the environment, put through the option's own parsing (choices, repeats). */
function convert(option: Option, value: unknown, where: string): unknown {
  if (option.isBoolean()) {
    if (typeof value !== 'boolean') throw new UsageError(`${where} must be true or false, got ${JSON.stringify(value)}`);
    return value ? true : undefined;
  }
  const list = Array.isArray(value) ? value : [value];
  if (Array.isArray(value) && !repeatable(option)) throw new UsageError(`${where} takes one value, not a list`);
  if (list.length > LIST_ITEMS_MAX) throw new UsageError(`${where}: more than ${LIST_ITEMS_MAX} values`);
  let acc: unknown = option.defaultValue;
  for (const item of list) {
    if (typeof item !== 'string' && typeof item !== 'number') throw new UsageError(`${where} must be a string or a number, got ${JSON.stringify(item)}`);
    const text = String(item);
    try {
      acc = option.parseArg === undefined ? text : option.parseArg(text, acc);
    } catch (e) {
      throw new UsageError(`${where}: ${e instanceof InvalidArgumentError ? e.message.replace(/^error: /, '') : String(e)}`);
    }
  }
  return acc;
}

/** A repeatable option (--node A --node B): its own parser gathers the values into a list. */
function repeatable(option: Option): boolean {
  if (option.variadic) return true;
  if (option.parseArg === undefined || option.argChoices !== undefined) return false;
  try {
    return Array.isArray(option.parseArg('x', []));
  } catch {
    return false;
  }
}

/** Every option of cmd with its value and where it came from. */
export function resolvedConfig(cmd: Command): { key: string; value: unknown; origin: ValueOrigin }[] {
  return configurable(cmd).map((option) => {
    const key = option.attributeName();
    const source = cmd.getOptionValueSource(key);
    const value: unknown = cmd.getOptionValue(key);
    const origin: ValueOrigin = value === undefined ? 'unset' : source === 'cli' ? 'flag' : source === 'config' ? 'file' : source === 'env' ? 'env' : 'default';
    return { key: longName(option), value, origin };
  });
}

/** --print-config: a valid config file itself, each line saying where its value came from. */
export function printConfig(cmd: Command): void {
  for (const { key, value, origin } of resolvedConfig(cmd)) {
    if (origin === 'unset') printLine(`# ${key}:  # not set`);
    else printLine(`${key}: ${stringify(asNumber(value), { collectionStyle: 'flow', lineWidth: 0 }).trim()}  # ${origin}`);
  }
}

/** Commander holds numbers as the text given: printed as numbers, which read back the same. */
function asNumber(value: unknown): unknown {
  return typeof value === 'string' && /^(0|[1-9]\d{0,14})$/.test(value) ? Number(value) : value;
}
