// Test helper: a small network of our own, made of network namespaces (no default route, nothing
// can leave the machine): one namespace per host, all plugged into a bridge in another namespace.
// A host can be cut off (its port leaves the bridge: silence, as in a real partition) and healed.
import { execFileSync } from 'node:child_process';

/** Addresses of the hosts: SUBNET.(first + index); the default suits any test. */
export interface NetAddressing {
  subnet: string;
  first: number;
}

const DEFAULT_ADDRESSING: NetAddressing = { subnet: '10.231.0', first: 1 };

export class TestNet {
  private readonly made: string[] = [];
  private readonly bridgeNs: string;

  private constructor(
    private readonly prefix: string,
    readonly hosts: readonly string[],
    private readonly addressing: NetAddressing,
  ) {
    this.bridgeNs = `${prefix}-br`;
  }

  /** Makes the network, or returns why it cannot be made here (no CAP_NET_ADMIN, no iproute2). */
  static create(hosts: string[], addressing: NetAddressing = DEFAULT_ADDRESSING): TestNet | string {
    removeLeftovers();
    const net = new TestNet(`oc${process.pid}`, hosts, addressing);
    try {
      net.build();
      return net;
    } catch (error) {
      net.destroy();
      return `network namespaces unavailable: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`;
    }
  }

  private build(): void {
    this.addNs(this.bridgeNs);
    ip('-n', this.bridgeNs, 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', this.bridgeNs, 'link', 'set', 'br0', 'up');
    this.hosts.forEach((h, i) => {
      const ns = this.ns(h);
      this.addNs(ns);
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      // Made inside the bridge's namespace, the other end moved straight into the host's.
      ip('-n', this.bridgeNs, 'link', 'add', port(i), 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
      ip('-n', this.bridgeNs, 'link', 'set', port(i), 'master', 'br0');
      ip('-n', this.bridgeNs, 'link', 'set', port(i), 'up');
      ip('-n', ns, 'addr', 'add', `${this.ip(h)}/24`, 'dev', 'eth0');
      ip('-n', ns, 'link', 'set', 'eth0', 'up');
    });
  }

  private addNs(ns: string): void {
    ip('netns', 'add', ns);
    this.made.push(ns);
  }

  ns(host: string): string {
    return `${this.prefix}-${host}`;
  }

  ip(host: string): string {
    const i = this.hosts.indexOf(host);
    if (i < 0) throw new Error(`no host ${host}`);
    return `${this.addressing.subnet}.${this.addressing.first + i}`;
  }

  /** The host's port leaves the bridge: its packets go nowhere, and nothing reaches it. */
  cut(host: string): void {
    ip('-n', this.bridgeNs, 'link', 'set', port(this.hosts.indexOf(host)), 'nomaster');
  }

  heal(host: string): void {
    ip('-n', this.bridgeNs, 'link', 'set', port(this.hosts.indexOf(host)), 'master', 'br0');
  }

  /** Deletes every namespace made (their links go with them). Processes inside must be ended first. */
  destroy(): void {
    for (const ns of this.made.splice(0).reverse()) {
      try {
        ip('netns', 'del', ns);
      } catch {
        // already gone
      }
    }
  }
}

/** Namespaces of an earlier run of these tests whose process is gone (killed before its after()). */
function removeLeftovers(): void {
  let listing: string;
  try {
    listing = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 });
  } catch {
    return; // no ip or no permission: create() says why
  }
  for (const line of listing.split('\n')) {
    const m = /^(oc(\d+)-\w+)\b/.exec(line);
    if (m === null || processAlive(Number(m[2]))) continue;
    try {
      ip('netns', 'del', m[1]!);
    } catch {
      // gone meanwhile
    }
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0); // signal 0: only asks whether the process exists
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function port(i: number): string {
  if (i < 0) throw new Error('no such host');
  return `p${i}`;
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
}
