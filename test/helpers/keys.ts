// Test helper: keys written through the client library and read back, to show that nothing an
// attacker or a fault did lost or changed them.
import { Cluster } from '../../src/index.js';

/** The value of key `${prefix}-${i}`. */
export function valueOfKey(i: number): string {
  return `v-${i}`;
}

export async function writeKeys(addrs: string[], prefix: string, n: number): Promise<void> {
  const c = new Cluster({ seeds: addrs });
  await c.connect();
  try {
    await Promise.all(Array.from({ length: n }, (_, i) => c.set(`${prefix}-${i}`, valueOfKey(i))));
  } finally {
    await c.close();
  }
}

/** How many of the n keys are missing or hold another value (a failed read counts as missing). */
export async function missingKeys(addrs: string[], prefix: string, n: number): Promise<number> {
  const c = new Cluster({ seeds: addrs });
  await c.connect();
  try {
    const got = await Promise.all(Array.from({ length: n }, (_, i) => c.get(`${prefix}-${i}`).catch(() => null)));
    return got.filter((v, i) => v !== valueOfKey(i)).length;
  } finally {
    await c.close();
  }
}
