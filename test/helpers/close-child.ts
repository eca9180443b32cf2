// Child process for the close() test: connects to the seeds given as arguments, writes a key,
// closes, and must then exit by itself (nothing left holding the event loop).
import { Cluster } from '../../src/index.js';

const seeds = process.argv.slice(2);
const cluster = new Cluster({ seeds });
await cluster.connect();
await cluster.set('close-child', 'ok');
const deadline = Date.now() + 10_000;
while (cluster.nodes().length < seeds.length + 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
const known = cluster.nodes().length;
await cluster.close();
process.stdout.write(`closed ${known}\n`);
