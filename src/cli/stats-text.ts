// `stats` as people read it, in the manner of Redis's INFO: a section per part of the node, one
// `name: value` line per field, in units people read (MB, s, ops/s). Pure: a stats document in,
// lines out; every field of the document is shown (fields it does not know go to `# Other`).

/** Top-level objects of the stats document and the section each becomes. */
const SECTIONS: Readonly<Record<string, string>> = {
  itemsByRole: 'Keyspace',
  memoryBytes: 'Memory',
  connections: 'Connections',
  ops: 'Operations',
  buckets: 'Buckets',
  admission: 'Admission',
  transfer: 'Transfers',
  incoming: 'Transfers',
  members: 'Members',
  dead: 'Members',
};
/** Top-level scalars shown in the Keyspace section; the other scalars go to Server. */
const KEYSPACE_SCALARS = new Set(['items', 'maps']);
const ORDER = ['Server', 'Keyspace', 'Memory', 'Connections', 'Operations', 'Buckets', 'Transfers', 'Members', 'Admission', 'Other'];
/** Counters of `ops` also shown as an average rate since the node started. */
const RATED = new Set(['reads', 'writes', 'redirects']);
/** Bounds a list shown (members of a huge cluster): the rest is counted. */
const LIST_LINES_MAX = 64;
const DEPTH_MAX = 3;
const BYTES_PER_MB = 1_000_000;
/** Counters whose names end like a unit but count events (connections closed over pending bytes). */
const COUNTS: Readonly<Record<string, string>> = { closedPendingBytes: 'closed over pending bytes' };

export function statsInfoLines(doc: unknown): string[] {
  if (!isRecord(doc)) return ['# Other', `value: ${show(doc)}`];
  const sections = new Map<string, string[]>(ORDER.map((name) => [name, []]));
  const add = (section: string, line: string): void => {
    (sections.get(section) ?? sections.get('Other')!).push(line);
  };
  const uptimeSec = typeof doc['uptimeMs'] === 'number' && doc['uptimeMs'] > 0 ? doc['uptimeMs'] / 1000 : null;
  for (const [key, value] of Object.entries(doc)) {
    if (!isRecord(value) && !Array.isArray(value)) {
      add(SECTIONS[key] ?? (KEYSPACE_SCALARS.has(key) ? 'Keyspace' : 'Server'), `${label(key)}: ${formatScalar(key, value)}`);
      continue;
    }
    const section = SECTIONS[key] ?? 'Other';
    if (Array.isArray(value)) {
      for (const line of listLines(key, value)) add(section, line);
      continue;
    }
    const unitFromParent = unitOf(key);
    for (const [path, leaf] of leaves(value, '', 0)) {
      const name = section === 'Transfers' || key === 'itemsByRole' ? `${label(key)} ${label(path)}` : section === 'Other' ? `${key}.${path}` : label(path);
      let text = unitFromParent !== null && typeof leaf === 'number' ? withUnit(unitFromParent, leaf) : formatScalar(path, leaf);
      if (key === 'ops' && RATED.has(path) && typeof leaf === 'number' && uptimeSec !== null) text += ` (${(leaf / uptimeSec).toFixed(1)} ops/s since start)`;
      add(section, `${name}: ${text}`);
    }
  }
  const out: string[] = [];
  for (const [name, lines] of sections) {
    if (lines.length === 0) continue;
    if (out.length > 0) out.push('');
    out.push(`# ${name}`, ...lines);
  }
  return out;
}

function listLines(key: string, list: unknown[]): string[] {
  if (list.length === 0) return [`${label(key)}: none`];
  const lines = list.slice(0, LIST_LINES_MAX).map((entry) => {
    if (!isRecord(entry)) return `${singular(key)}: ${show(entry)}`;
    const { addr, ...rest } = entry;
    const details = Object.entries(rest).map(([k, v]) => (k === 'declaredAtMs' && typeof v === 'number' ? `declared ${new Date(v).toISOString()}` : `${label(k)} ${show(v)}`));
    return `${singular(key)}: ${show(addr)}${details.length > 0 ? ` (${details.join(', ')})` : ''}`;
  });
  if (list.length > LIST_LINES_MAX) lines.push(`${label(key)}: ... and ${list.length - LIST_LINES_MAX} more (--json lists them all)`);
  return lines;
}

function singular(key: string): string {
  if (key === 'dead') return 'dead member';
  return label(key).replace(/s$/, '');
}

function* leaves(value: Record<string, unknown>, prefix: string, depth: number): Generator<[string, unknown]> {
  for (const [k, v] of Object.entries(value)) {
    const path = prefix === '' ? k : `${prefix} ${k}`;
    if (isRecord(v) && depth < DEPTH_MAX) yield* leaves(v, path, depth + 1);
    else yield [path, v];
  }
}

type Unit = 'bytes' | 'ms';

/** The unit a name carries last (memoryBytes, uptimeMs), or null. */
function unitOf(name: string): Unit | null {
  if (COUNTS[name] !== undefined) return null;
  if (/bytes$/i.test(name)) return 'bytes';
  if (/Ms$/.test(name)) return 'ms';
  return null;
}

function withUnit(unit: Unit, n: number): string {
  if (unit === 'bytes') return `${(n / BYTES_PER_MB).toFixed(1)} MB`;
  return `${(n / 1000).toFixed(1)} s`;
}

function formatScalar(name: string, value: unknown): string {
  const unit = unitOf(name);
  if (unit !== null && typeof value === 'number') return withUnit(unit, value);
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (value === null) return 'none';
  return show(value);
}

/** camelCase and unit suffixes to words: uptimeMs -> uptime, heapUsed -> heap used. */
export function label(name: string): string {
  if (name === 'itemsByRole') return 'items';
  return COUNTS[name] ?? name
    .replace(/(Bytes|Ms)$/, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase();
}

function show(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint') return v.toString();
  const text = JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
  return (text ?? String(v)).replace(/\s+/g, ' ');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
