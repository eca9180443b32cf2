// Test helper: a strict parser of the Prometheus text exposition format (0.0.4), so tests read
// /metrics as Prometheus would instead of matching single lines. It throws, naming the line, on
// anything Prometheus would refuse: a bad name, label or value, a sample of an undeclared family,
// a repeated series, HELP or TYPE twice, or a histogram whose buckets are not cumulative.

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: MetricType;
  help: string;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES: ReadonlySet<string> = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

export class PromParseError extends Error {
  override name = 'PromParseError';
}

export function parsePromText(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const seen = new Set<string>();
  const typed = new Set<string>();
  const helped = new Set<string>();
  if (!text.endsWith('\n')) throw new PromParseError('the exposition does not end with a newline');
  const lines = text.split('\n');
  lines.pop();
  lines.forEach((line, i) => {
    const where = `line ${i + 1} (${JSON.stringify(line.slice(0, 80))})`;
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (m === null) return; // a plain comment
      const [, kind, name, rest] = m as unknown as [string, string, string, string];
      if (!NAME.test(name)) throw new PromParseError(`${where}: bad metric name`);
      const f = families.get(name) ?? { name, type: 'untyped' as MetricType, help: '', samples: [] };
      families.set(name, f);
      if (kind === 'TYPE') {
        if (typed.has(name)) throw new PromParseError(`${where}: TYPE given twice`);
        if (f.samples.length > 0) throw new PromParseError(`${where}: TYPE after samples`);
        if (!TYPES.has(rest)) throw new PromParseError(`${where}: unknown type ${rest}`);
        f.type = rest as MetricType;
        typed.add(name);
      } else {
        if (helped.has(name)) throw new PromParseError(`${where}: HELP given twice`);
        f.help = rest;
        helped.add(name);
      }
      return;
    }
    const s = parseSample(line, where);
    const family = familyOf(families, s.name);
    if (family === undefined) throw new PromParseError(`${where}: sample of no declared family`);
    const key = `${s.name}{${Object.keys(s.labels).sort().map((k) => `${k}=${JSON.stringify(s.labels[k])}`).join(',')}}`;
    if (seen.has(key)) throw new PromParseError(`${where}: series ${key} given twice`);
    seen.add(key);
    family.samples.push(s);
  });
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f);
  return families;
}

/** The family a sample belongs to: its own name, or a histogram's or summary's with a suffix. */
function familyOf(families: Map<string, Family>, name: string): Family | undefined {
  const own = families.get(name);
  if (own !== undefined && own.type !== 'histogram') return own;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!name.endsWith(suffix)) continue;
    const f = families.get(name.slice(0, -suffix.length));
    if (f !== undefined && (f.type === 'histogram' || (f.type === 'summary' && suffix !== '_bucket'))) return f;
  }
  return own?.type === 'histogram' ? undefined : own;
}

function parseSample(line: string, where: string): Sample {
  let i = 0;
  while (i < line.length && /[a-zA-Z0-9_:]/.test(line[i]!)) i++;
  const name = line.slice(0, i);
  if (!NAME.test(name)) throw new PromParseError(`${where}: bad metric name`);
  const labels: Record<string, string> = {};
  if (line[i] === '{') {
    i++;
    while (line[i] !== '}') {
      const start = i;
      while (i < line.length && /[a-zA-Z0-9_]/.test(line[i]!)) i++;
      const label = line.slice(start, i);
      if (!LABEL_NAME.test(label)) throw new PromParseError(`${where}: bad label name`);
      if (line[i] !== '=' || line[i + 1] !== '"') throw new PromParseError(`${where}: label ${label} without ="value"`);
      i += 2;
      let value = '';
      for (;;) {
        const c = line[i];
        if (c === undefined) throw new PromParseError(`${where}: unterminated label value`);
        i++;
        if (c === '"') break;
        if (c === '\\') {
          const e = line[i++];
          if (e === 'n') value += '\n';
          else if (e === '\\' || e === '"') value += e;
          else throw new PromParseError(`${where}: bad escape \\${e ?? ''}`);
        } else value += c;
      }
      if (label in labels) throw new PromParseError(`${where}: label ${label} given twice`);
      labels[label] = value;
      if (line[i] === ',') i++;
      else if (line[i] !== '}') throw new PromParseError(`${where}: expected , or } after a label`);
    }
    i++;
  }
  const rest = line.slice(i);
  const m = /^ (\S+)(?: (-?\d+))?$/.exec(rest);
  if (m === null) throw new PromParseError(`${where}: expected " value [timestamp]"`);
  return { name, labels, value: parseValue(m[1]!, where) };
}

function parseValue(text: string, where: string): number {
  // As Prometheus reads values (Go's ParseFloat): Inf and NaN in any letter case (prom-client writes "Nan").
  if (/^\+?inf(inity)?$/i.test(text)) return Infinity;
  if (/^-inf(inity)?$/i.test(text)) return -Infinity;
  if (/^nan$/i.test(text)) return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new PromParseError(`${where}: bad value ${text}`);
  return Number(text);
}

function checkHistogram(f: Family): void {
  const series = new Map<string, { le: number; value: number }[]>();
  const counts = new Map<string, number>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    if (s.name === `${f.name}_bucket`) {
      if (le === undefined) throw new PromParseError(`${f.name}: a bucket without le`);
      const list = series.get(key) ?? [];
      list.push({ le: parseValue(le, f.name), value: s.value });
      series.set(key, list);
    } else if (s.name === `${f.name}_count`) counts.set(key, s.value);
  }
  for (const [key, list] of series) {
    list.sort((a, b) => a.le - b.le);
    for (let i = 1; i < list.length; i++) if (list[i]!.value < list[i - 1]!.value) throw new PromParseError(`${f.name} ${key}: buckets not cumulative`);
    const last = list[list.length - 1]!;
    if (last.le !== Infinity) throw new PromParseError(`${f.name} ${key}: no +Inf bucket`);
    if (counts.get(key) !== last.value) throw new PromParseError(`${f.name} ${key}: _count differs from the +Inf bucket`);
  }
}

/** The value of the one sample of `name` whose labels include `labels` (throws if none or several). */
export function sampleValue(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  const matches: Sample[] = [];
  for (const f of families.values()) {
    for (const s of f.samples) if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) matches.push(s);
  }
  if (matches.length !== 1) throw new Error(`${matches.length} samples of ${name} ${JSON.stringify(labels)}`);
  return matches[0]!.value;
}

/** The sum of every sample of `name` whose labels include `labels` (0 when none). */
export function sampleSum(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const f of families.values()) {
    for (const s of f.samples) if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) sum += s.value;
  }
  return sum;
}
