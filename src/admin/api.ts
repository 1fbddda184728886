// The quarantine JSON API: list with paging and filters, show, raw download, release (optionally
// learning it as ham), delete, learn as spam. Every action is logged with who did it.
import type { Config } from '../config/schema.ts';
import type { Core } from '../app.ts';
import type { QuarantineQuery } from '../store/types.ts';
import { SmtpError } from '../smtp/replies.ts';
import { isValidId } from '../util/ids.ts';
import { AlreadyReleasedError } from '../quarantine/quarantine.ts';
import type { RequestContext } from './server.ts';
import { viewMessage } from './preview.ts';

export class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export type RouteResult =
  | { json: unknown; status?: number }
  | { type: string; body: string | Buffer; headers?: Record<string, string> };

export interface Route {
  method: string;
  path: RegExp;
  handler(ctx: RequestContext): Promise<RouteResult>;
}

export const MAX_PAGE = 500;

const ID = '([0-9A-Z]{15})';

export function quarantineRoutes(core: Core, config: Readonly<Config>): Route[] {
  // One action at a time per message on this node; a release is also claimed in the store, for every node.
  const busy = new Set<string>();
  const exclusive = async <T>(id: string, fn: () => Promise<T>): Promise<T> => {
    if (busy.has(id)) throw new HttpError(409, `an action on ${id} is already in progress`);
    busy.add(id);
    try {
      return await fn();
    } finally {
      busy.delete(id);
    }
  };
  const held = async (id: string) => {
    const message = isValidId(id) ? await core.quarantine.get(id) : null;
    if (!message) throw new HttpError(404, `no quarantined message ${id}`);
    return message;
  };

  return [
    {
      method: 'GET',
      path: /^\/api\/quarantine$/,
      async handler(ctx) {
        const query = parseListQuery(ctx.url.searchParams);
        const { total, entries } = await core.quarantine.list(query);
        return { json: { total, offset: query.offset, limit: query.limit, entries } };
      },
    },
    {
      method: 'GET',
      path: new RegExp(`^/api/quarantine/${ID}$`),
      async handler(ctx) {
        const { entry, raw } = await held(ctx.params[0]);
        return { json: { entry, ...(await viewMessage(raw, config.smtp.hostname)) } };
      },
    },
    {
      method: 'GET',
      path: new RegExp(`^/api/quarantine/${ID}/raw$`),
      async handler(ctx) {
        const { raw } = await held(ctx.params[0]);
        ctx.log.info({ id: ctx.params[0], action: 'download' }, 'quarantine download');
        // An attachment, never displayed inline: the browser must not interpret a spammer's bytes.
        return { type: 'message/rfc822', body: raw, headers: { 'Content-Disposition': `attachment; filename="${ctx.params[0]}.eml"` } };
      },
    },
    {
      method: 'POST',
      path: new RegExp(`^/api/quarantine/${ID}/release$`),
      async handler(ctx) {
        const id = ctx.params[0];
        const body = await ctx.body();
        if (body.learn !== undefined && typeof body.learn !== 'boolean') throw new HttpError(400, 'learn must be true or false');
        const learnHam = core.learnHam;
        if (body.learn === true && !learnHam) throw new HttpError(501, 'learning is not available (Bayes is not part of this gateway)');
        const learn = Boolean((body.learn ?? config.quarantine.learnOnRelease) && learnHam);
        return exclusive(id, async () => {
          let outcome;
          try {
            outcome = await core.delivery.release(id);
          } catch (err) {
            if (err instanceof AlreadyReleasedError) throw new HttpError(409, err.message);
            if (err instanceof SmtpError) {
              ctx.log.warn({ id, action: 'release', err: err.message }, 'quarantine release failed: downstream did not accept');
              throw new HttpError(502, `the downstream did not accept the message: ${err.message}`);
            }
            throw err;
          }
          if (!outcome) throw new HttpError(404, `no quarantined message ${id}`);
          let learned: unknown = null;
          let learnError: string | undefined;
          if (learn && learnHam) {
            // Released first: a learning failure must not keep a wanted message from its recipient.
            try {
              learned = await learnHam(outcome.held.raw);
            } catch (err) {
              learnError = (err as Error).message;
            }
          }
          ctx.log.info({ id, action: 'release', relayId: outcome.relayId, learned, learnError }, 'quarantine release');
          return { json: { id, released: true, relayId: outcome.relayId, learned, ...(learnError ? { learnError } : {}) } };
        });
      },
    },
    {
      method: 'DELETE',
      path: new RegExp(`^/api/quarantine/${ID}$`),
      async handler(ctx) {
        const id = ctx.params[0];
        return exclusive(id, async () => {
          let deleted;
          try {
            deleted = await core.quarantine.discard(id);
          } catch (err) {
            if (err instanceof AlreadyReleasedError) throw new HttpError(409, err.message);
            throw err;
          }
          if (!deleted) throw new HttpError(404, `no quarantined message ${id}`);
          ctx.log.info({ id, action: 'delete' }, 'quarantine delete');
          return { json: { id, deleted: true } };
        });
      },
    },
    {
      method: 'POST',
      path: new RegExp(`^/api/quarantine/${ID}/learn-spam$`),
      async handler(ctx) {
        const id = ctx.params[0];
        const learnSpam = core.learnSpam;
        if (!learnSpam) throw new HttpError(501, 'learning is not available (Bayes is not part of this gateway)');
        return exclusive(id, async () => {
          const { raw } = await held(id);
          const learned = await learnSpam(raw);
          ctx.log.info({ id, action: 'learn-spam', learned }, 'quarantine learn spam');
          return { json: { id, learned } };
        });
      },
    },
  ];
}

/**
 * `limit` (1–500, default 50), `offset`, `since`/`until` (ms since the epoch or an ISO date),
 * `sender`, `recipient`, `symbol`, `minScore`.
 */
export function parseListQuery(params: URLSearchParams): QuarantineQuery & { offset: number } {
  const int = (name: string, def: number, min: number, max: number): number => {
    const v = params.get(name);
    if (v === null || v === '') return def;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new HttpError(400, `${name} must be a whole number from ${min} to ${max}`);
    return n;
  };
  const time = (name: string): number | undefined => {
    const v = params.get(name);
    if (v === null || v === '') return undefined;
    const n = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
    if (!Number.isFinite(n)) throw new HttpError(400, `${name} must be a time: milliseconds since 1970 or an ISO date`);
    return n;
  };
  const text = (name: string): string | undefined => {
    const v = params.get(name)?.trim();
    if (!v) return undefined;
    if (v.length > 320) throw new HttpError(400, `${name} is too long`);
    return v;
  };
  const query: QuarantineQuery & { offset: number } = { limit: int('limit', 50, 1, MAX_PAGE), offset: int('offset', 0, 0, 1e9) };
  const since = time('since');
  const until = time('until');
  if (since !== undefined) query.since = since;
  if (until !== undefined) query.until = until;
  const sender = text('sender');
  const recipient = text('recipient');
  const symbol = text('symbol');
  if (sender) query.sender = sender;
  if (recipient) query.recipient = recipient;
  if (symbol) query.symbol = symbol.toUpperCase();
  const minScore = params.get('minScore');
  if (minScore !== null && minScore !== '') {
    const n = Number(minScore);
    if (!Number.isFinite(n)) throw new HttpError(400, 'minScore must be a number');
    query.minScore = n;
  }
  return query;
}
