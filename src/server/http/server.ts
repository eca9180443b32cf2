// The node's HTTP side door (`serve --http HOST:PORT`): /metrics, /health/{live,ready,cluster-safe},
// the dashboard at / with its server-sent events at /events and its document at /state. GET only;
// every connection, stream and request has a bound, and no request can crash the node.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log.js';
import type { User } from '../users.js';
import { HttpAuth } from './auth.js';
import { ClusterWatch } from './cluster-watch.js';
import { DASHBOARD_HTML } from './dashboard-page.js';
import { clusterSafety, readiness, type Verdict } from './health.js';
import { NodeMetrics } from './metrics.js';
import type { HttpNodeView } from './view.js';

export interface HttpOptions {
  host: string;
  port: number;
  /** With users: /metrics and /health/* answer without a login (the dashboard still asks). */
  openMetrics: boolean;
  users: ReadonlyMap<string, User> | null;
}

/** HTTP connections at once (probes, scrapers, dashboards). */
export const HTTP_CONNECTIONS_MAX = 64;
/** Dashboards listening to /events at once. */
export const EVENT_STREAMS_MAX = 16;
const REQUEST_TIMEOUT_MS = 10_000;
const HEADERS_TIMEOUT_MS = 5_000;
const PUSH_INTERVAL_MS = 1000;
/** How often membership is compared with the last push (a change is pushed at once). */
const MEMBERSHIP_CHECK_MS = 100;
/** A stream whose client does not read, holding this much unsent, is closed. */
const STREAM_BACKLOG_BYTES_MAX = 1 << 20;
/** After a /state request, the cluster is watched this long even with no stream open. */
const WATCH_AFTER_STATE_MS = 10_000;

export class HttpSideDoor {
  private readonly server: Server;
  private readonly metrics: NodeMetrics;
  private readonly auth: HttpAuth;
  private readonly watch: ClusterWatch;
  private readonly streams = new Set<ServerResponse>();
  private pushTimer: NodeJS.Timeout | null = null;
  private checkTimer: NodeJS.Timeout | null = null;
  private lastKey = '';
  private watchUntilMs = 0;

  constructor(
    private readonly v: HttpNodeView,
    private readonly opts: HttpOptions,
    private readonly log: Logger,
  ) {
    this.metrics = new NodeMetrics(v);
    this.auth = new HttpAuth(opts.users);
    this.watch = new ClusterWatch(v);
    this.server = createServer((req, res) => this.onRequest(req, res));
    this.server.maxConnections = HTTP_CONNECTIONS_MAX;
    this.server.requestTimeout = REQUEST_TIMEOUT_MS;
    this.server.headersTimeout = HEADERS_TIMEOUT_MS;
    this.server.on('clientError', (_error, socket) => socket.destroy());
  }

  /** Binds; resolves with the port really bound (port 0: one the system chose). */
  async start(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.opts.port, this.opts.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.server.on('error', (error) => this.log.error({ err: error.message }, 'http server error'));
    this.pushTimer = setInterval(() => this.safely('http push', () => this.tick()), PUSH_INTERVAL_MS);
    this.checkTimer = setInterval(() => this.safely('http membership check', () => this.checkMembership()), MEMBERSHIP_CHECK_MS);
    this.pushTimer.unref();
    this.checkTimer.unref();
    return (this.server.address() as AddressInfo).port;
  }

  close(): Promise<void> {
    if (this.pushTimer !== null) clearInterval(this.pushTimer);
    if (this.checkTimer !== null) clearInterval(this.checkTimer);
    for (const s of this.streams) s.destroy();
    this.streams.clear();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private safely(what: string, fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.log.error({ err: error instanceof Error ? error.stack : String(error), what }, 'internal error contained');
    }
  }

  private get watching(): boolean {
    return this.streams.size > 0 || Date.now() < this.watchUntilMs;
  }

  private tick(): void {
    if (!this.watching) return;
    this.watch.tick();
    this.pushState();
  }

  private checkMembership(): void {
    if (this.streams.size === 0) return;
    const key = this.watch.membershipKey();
    if (key === this.lastKey) return;
    this.lastKey = key;
    this.pushState();
  }

  private pushState(): void {
    if (this.streams.size === 0) return;
    const frame = `event: state\ndata: ${JSON.stringify(this.watch.state())}\n\n`;
    for (const s of this.streams) {
      if (s.writableLength > STREAM_BACKLOG_BYTES_MAX) {
        s.destroy();
        this.streams.delete(s);
        continue;
      }
      s.write(frame);
    }
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    this.route(req, res).catch((error: unknown) => {
      this.log.error({ err: error instanceof Error ? error.stack : String(error), url: req.url }, 'http request failed');
      if (!res.headersSent) send(res, 500, 'text/plain', 'internal error\n');
      else res.destroy();
    });
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'only GET\n', { allow: 'GET, HEAD' });
    const path = (req.url ?? '/').split('?')[0]!;
    const open = path.startsWith('/health/') || path === '/metrics' ? this.opts.openMetrics : false;
    if (!open && this.auth.required && !(await this.allowed(req, res))) return;
    switch (path) {
      case '/health/live':
        return json(res, 200, { status: 'live' });
      case '/health/ready':
        return verdict(res, readiness(this.v));
      case '/health/cluster-safe':
        return verdict(res, clusterSafety(this.v));
      case '/metrics':
        return send(res, 200, this.metrics.contentType, await this.metrics.text());
      case '/':
      case '/index.html':
        return send(res, 200, 'text/html; charset=utf-8', DASHBOARD_HTML);
      case '/state':
        this.watchUntilMs = Date.now() + WATCH_AFTER_STATE_MS;
        return json(res, 200, this.watch.state());
      case '/events':
        return this.openStream(res);
      default:
        return send(res, 404, 'text/plain', `no ${path} here: try /, /metrics, /health/live, /health/ready, /health/cluster-safe\n`);
    }
  }

  /** True when the request carries an admin login; else it has been answered (401, 403 or 503). */
  private async allowed(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const v = await this.auth.check(req);
    switch (v) {
      case 'ok':
        return true;
      case 'busy':
        send(res, 503, 'text/plain', 'too many logins being checked; retry\n', { 'retry-after': '1' });
        return false;
      case 'notAdmin':
        send(res, 403, 'text/plain', 'this needs a user with the admin role\n');
        return false;
      default:
        send(res, 401, 'text/plain', v === 'missing' ? 'log in as an admin user\n' : 'wrong user name or password\n', { 'www-authenticate': 'Basic realm="opencluster", charset="UTF-8"' });
        return false;
    }
  }

  private openStream(res: ServerResponse): void {
    if (this.streams.size >= EVENT_STREAMS_MAX) return send(res, 503, 'text/plain', `at most ${EVENT_STREAMS_MAX} dashboards at once\n`);
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.socket?.setTimeout(0);
    this.streams.add(res);
    res.on('close', () => this.streams.delete(res));
    this.watch.tick();
    res.write(`retry: 1000\nevent: state\ndata: ${JSON.stringify(this.watch.state())}\n\n`);
  }
}

function send(res: ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', ...headers });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function json(res: ServerResponse, status: number, doc: unknown): void {
  send(res, status, 'application/json', `${JSON.stringify(doc)}\n`);
}

function verdict(res: ServerResponse, v: Verdict): void {
  const { ok, ...rest } = v;
  json(res, ok ? 200 : 503, { status: ok ? 'ok' : 'unavailable', ...rest });
}
