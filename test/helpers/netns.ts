// Test helper: a small network of our own, made of network namespaces (no default route, nothing
// can leave the machine): one namespace per host, all plugged into a bridge in another namespace.
// A host can be cut off (its port leaves the bridge: silence, as in a real partition) and healed;
// so can the single link between two hosts, while both still reach every other host.
import { execFileSync } from 'node:child_process';

/** Addresses of the hosts: SUBNET.(first + index); the default suits any test. */
export interface NetAddressing {
  subnet: string;
  first: number;
}

const DEFAULT_ADDRESSING: NetAddressing = { subnet: '10.231.0', first: 1 };

/**
 * A link-layer address no host has (locally administered, unicast): frames sent to it are flooded
 * by the bridge and dropped by every host, as their destination is not theirs. No reply, no error.
 */
const NOWHERE_MAC = '02:00:00:00:00:00';

export class TestNet {
  private readonly made: string[] = [];
  /** Links cut by cutLink, as `a|b` with a < b. */
  private readonly cutLinks = new Set<string>();
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

  /**
   * Only the traffic between hosts a and b vanishes, both ways; each still reaches every other host.
   * BACKGROUND: this kernel may lack netem, prio and every tc action (drop), and nft/iptables may be
   * missing; iproute2 alone suffices here. BEHAVIOR: each of the two hosts gets a permanent
   * neighbour entry mapping the other's IP address to NOWHERE_MAC, so its packets to the other
   * leave with a destination no one takes: silence (no RST, no ICMP), as in a real partition. A
   * connection open across the cut stalls, and resumes once healed.
   */
  cutLink(a: string, b: string): void {
    const key = linkKey(a, b);
    const [ipA, ipB] = [this.ip(a), this.ip(b)]; // unknown hosts throw here, before anything changes
    if (this.cutLinks.has(key)) throw new Error(`the link ${a}-${b} is already cut`);
    this.cutLinks.add(key);
    ip('-n', this.ns(a), 'neigh', 'replace', ipB, 'lladdr', NOWHERE_MAC, 'nud', 'permanent', 'dev', 'eth0');
    ip('-n', this.ns(b), 'neigh', 'replace', ipA, 'lladdr', NOWHERE_MAC, 'nud', 'permanent', 'dev', 'eth0');
  }

  /** Undoes cutLink: the false entries go, and each host asks for the other's address again (ARP). */
  healLink(a: string, b: string): void {
    const key = linkKey(a, b);
    if (!this.cutLinks.has(key)) throw new Error(`the link ${a}-${b} is not cut`);
    ip('-n', this.ns(a), 'neigh', 'del', this.ip(b), 'dev', 'eth0');
    ip('-n', this.ns(b), 'neigh', 'del', this.ip(a), 'dev', 'eth0');
    this.cutLinks.delete(key);
  }

  /** Deletes every namespace made (their links go with them). Processes inside must be ended first. */
  destroy(): void {
    this.cutLinks.clear(); // the neighbour entries of cut links go with their namespaces
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

function linkKey(a: string, b: string): string {
  if (a === b) throw new Error(`a link needs two hosts (got ${a} twice)`);
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

function port(i: number): string {
  if (i < 0) throw new Error('no such host');
  return `p${i}`;
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
}
