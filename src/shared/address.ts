// Node addresses: "host:port" text, parsed and validated in one place.

export interface Address {
  host: string;
  port: number;
}

export class AddressError extends Error {
  override name = 'AddressError';
}

export function parseAddress(text: string, defaultPort?: number): Address {
  const trimmed = text.trim();
  let host: string;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(trimmed);
  if (bracketed) {
    host = bracketed[1]!;
    portText = bracketed[2];
  } else {
    const idx = trimmed.lastIndexOf(':');
    if (idx < 0) {
      host = trimmed;
    } else {
      host = trimmed.slice(0, idx);
      portText = trimmed.slice(idx + 1);
    }
    // Brackets belong only around an IPv6 host, which needs them (its colons would be ambiguous).
    if (/[[\]:]/.test(host)) throw new AddressError(`address "${text}" has a bad host (IPv6 needs [brackets])`);
  }
  if (host.length === 0) throw new AddressError(`address "${text}" has no host`);
  let port: number;
  if (portText === undefined || portText === '') {
    if (defaultPort === undefined) throw new AddressError(`address "${text}" has no port`);
    port = defaultPort;
  } else {
    if (!/^\d+$/.test(portText)) throw new AddressError(`address "${text}" has a bad port`);
    port = Number(portText);
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new AddressError(`address "${text}": port must be 0-65535`);
  }
  return { host, port };
}

export function formatAddress(addr: Address): string {
  return addr.host.includes(':') ? `[${addr.host}]:${addr.port}` : `${addr.host}:${addr.port}`;
}

/** Canonical "host:port" form of an address text (throws AddressError when malformed). */
export function normalizeAddress(text: string, defaultPort?: number): string {
  return formatAddress(parseAddress(text, defaultPort));
}

/** A host that only this machine can reach: localhost, 127.0.0.0/8, ::1. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || host === '::1' || host === '::ffff:127.0.0.1';
}

/** A host that binds every interface: 0.0.0.0 or ::. */
export function isWildcardHost(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]';
}
