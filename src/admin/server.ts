// The operator's HTTP listener, separate from SMTP: /healthz and /readyz for probes, /metrics for
// Prometheus, the quarantine JSON API and the quarantine page. Everything but the probes and the page's
// static files (which hold no data) needs `Authorization: Bearer <token>`.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import type { Core } from '../app.ts';
import type { Metrics } from './metrics.ts';
import { Readiness } from './health.ts';
import { quarantineRoutes, HttpError, type Route } from './api.ts';
import { trafficRoutes } from './traffic.ts';

export interface AdminServerOptions {
  config: Readonly<Config>;
  core: Core;
  metrics: Metrics;
  log: Logger;
}

/** Headers on every answer: nothing may be framed, sniffed or loaded from elsewhere. */
const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; " +
    "object-src 'none'; frame-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

const STATIC: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/ui/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/ui/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
  '/ui/icon.svg': { file: 'icon.svg', type: 'image/svg+xml' },
};

/** Request bodies are small JSON objects. */
const MAX_BODY = 16 * 1024;

export interface RequestContext {
  req: IncomingMessage;
  url: URL;
  /** Who is acting: the token's name ("admin" for `admin.token`). */
  who: string;
  params: string[];
  log: Logger;
  body(): Promise<Record<string, unknown>>;
}

export class AdminServer {
  private readonly o: AdminServerOptions;
  private readonly server: Server;
  private readonly tokens: { name: string; digest: Buffer }[];
  private readonly readiness: Readiness;
  private readonly routes: Route[];
  private readonly files = new Map<string, Buffer>();
  private readonly sockets = new Set<Socket>();
  private readonly log: Logger;

  constructor(options: AdminServerOptions) {
    this.o = options;
    this.log = options.log.child({ component: 'admin' });
    const admin = options.config.admin;
    this.tokens = [
      ...(admin.token ? [{ name: 'admin', digest: digest(admin.token) }] : []),
      ...Object.entries(admin.tokens).map(([name, token]) => ({ name, digest: digest(token) })),
    ];
    if (!this.tokens.length) throw new Error('admin: no token configured (admin.token or SLUICE_ADMIN_TOKEN)');
    this.readiness = new Readiness({
      store: options.core.store,
      verifyDownstream: () => options.core.relay.verify(),
      intervalMs: admin.readyIntervalMs,
      log: this.log,
    });
    this.routes = [
      { method: 'GET', path: /^\/metrics$/, handler: async () => ({ type: options.metrics.contentType, body: await options.metrics.text() }) },
      { method: 'GET', path: /^\/api\/info$/, handler: async (ctx) => this.info(ctx) },
      { method: 'GET', path: /^\/api\/overview$/, handler: async (ctx) => this.overview(ctx) },
      ...quarantineRoutes(options.core, options.config),
      ...trafficRoutes(options.core, options.config),
    ];
    for (const { file } of Object.values(STATIC)) this.files.set(file, readFileSync(new URL(`./ui/${file}`, import.meta.url)));
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    // A slow client must not hold a socket forever.
    this.server.requestTimeout = 30_000;
    this.server.headersTimeout = 10_000;
  }

  async listen(): Promise<AddressInfo> {
    const { host, port } = this.o.config.admin;
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.readiness.start();
    const address = this.server.address() as AddressInfo;
    this.log.info({ host: address.address, port: address.port }, 'admin listening');
    return address;
  }

  async close(): Promise<void> {
    this.readiness.stop();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    // Keep-alive sockets of browsers would hold close() open.
    this.server.closeIdleConnections();
    setTimeout(() => { for (const s of this.sockets) s.destroy(); }, 2000).unref();
    await closed;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://admin');
    } catch {
      return sendJson(res, 400, { error: 'bad request' });
    }
    const method = req.method ?? 'GET';
    const path = url.pathname;
    const ip = req.socket.remoteAddress ?? '';
    try {
      if (path === '/healthz' && (method === 'GET' || method === 'HEAD')) return sendJson(res, 200, { status: 'ok' });
      if (path === '/readyz' && (method === 'GET' || method === 'HEAD')) {
        const report = await this.readiness.report();
        return sendJson(res, report.ready ? 200 : 503, report);
      }
      const asset = STATIC[path];
      if (asset && (method === 'GET' || method === 'HEAD')) {
        res.writeHead(200, { 'Content-Type': asset.type, 'Cache-Control': 'no-cache' });
        return void res.end(method === 'HEAD' ? undefined : this.files.get(asset.file));
      }
      const who = this.authenticate(req);
      if (!who) {
        this.log.warn({ ip, method, path, reason: req.headers.authorization ? 'wrong token' : 'no token' }, 'admin request unauthorized');
        res.setHeader('WWW-Authenticate', 'Bearer realm="sluice"');
        return sendJson(res, 401, { error: 'unauthorized' });
      }
      const matching = this.routes.filter((r) => r.path.test(path));
      if (!matching.length) return sendJson(res, 404, { error: 'not found' });
      const route = matching.find((r) => r.method === method);
      if (!route) {
        res.setHeader('Allow', matching.map((r) => r.method).join(', '));
        return sendJson(res, 405, { error: 'method not allowed' });
      }
      const ctx: RequestContext = {
        req, url, who,
        params: (route.path.exec(path) ?? []).slice(1).map(decodeURIComponent),
        log: this.log.child({ who, ip }),
        body: () => readJson(req),
      };
      const result = await route.handler(ctx);
      if ('json' in result) return sendJson(res, result.status ?? 200, result.json);
      res.writeHead(200, { 'Content-Type': result.type, 'Cache-Control': 'no-store', ...result.headers });
      res.end(result.body);
    } catch (err) {
      if (err instanceof HttpError) return sendJson(res, err.status, { error: err.message });
      this.log.error({ method, path, err: (err as Error).stack }, 'admin request failed');
      sendJson(res, 500, { error: 'internal error' });
    }
  }

  /** The token's name, or null. Every token is compared, in constant time, whatever matches first. */
  private authenticate(req: IncomingMessage): string | null {
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    if (!match) return null;
    const presented = digest(match[1]);
    let who: string | null = null;
    for (const t of this.tokens) if (timingSafeEqual(presented, t.digest) && who === null) who = t.name;
    return who;
  }

  private async info(ctx: RequestContext) {
    const core = this.o.core;
    return {
      json: {
        who: ctx.who,
        hostname: this.o.config.smtp.hostname,
        store: core.store.backend,
        learn: { ham: typeof core.learnHam === 'function', spam: typeof core.learnSpam === 'function' },
        learnOnRelease: this.o.config.quarantine.learnOnRelease,
      },
    };
  }

  /** Counts by action for the chart: `?minutes=60&step=1` (defaults) up to one day. */
  private async overview(ctx: RequestContext) {
    const minutes = Number(ctx.url.searchParams.get('minutes') ?? 60);
    const step = Number(ctx.url.searchParams.get('step') ?? 1);
    if (!Number.isFinite(minutes) || !Number.isFinite(step) || minutes < 1 || step < 1) throw new HttpError(400, 'minutes and step are positive numbers');
    const series = this.o.metrics.overview(minutes, step);
    const { total } = await this.o.core.quarantine.list({ limit: 0 });
    return { json: { ...series, quarantined: total } };
  }
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new HttpError(413, 'request body too large');
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (!text) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'the body must be JSON');
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new HttpError(400, 'the body must be a JSON object');
  return value as Record<string, unknown>;
}
