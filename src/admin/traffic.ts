// The greylisting and rate-limit API: the same operations as `sluice greylist` and `sluice ratelimit`,
// each change logged with who made it.
import type { Config } from '../config/schema.ts';
import type { Core } from '../app.ts';
import { parseGreylistClient } from '../checks/greylist/index.ts';
import { parseRateKey, rateLimitStatus, resetRateLimit } from '../checks/ratelimit/index.ts';
import { HttpError, type Route } from './api.ts';

/** An operator's name for a client or a key that the parser refuses is the request's fault: 400 with its reason. */
function parsed<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw new HttpError(400, (err as Error).message);
  }
}

export function trafficRoutes(core: Core, config: Readonly<Config>, now: () => number = Date.now): Route[] {
  const { greylist, ratelimit } = core.store;
  return [
    {
      method: 'GET',
      path: /^\/api\/greylist$/,
      async handler(ctx) {
        const limit = Number(ctx.url.searchParams.get('limit') ?? 100);
        if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new HttpError(400, 'limit must be a whole number from 1 to 10000');
        return { json: { entries: await greylist.list(now(), limit) } };
      },
    },
    {
      method: 'POST',
      path: /^\/api\/greylist\/allow$/,
      async handler(ctx) {
        const body = await ctx.body();
        if (typeof body.client !== 'string') throw new HttpError(400, 'give the client: {"client": "192.0.2.0/24"}');
        const client = parsed(() => parseGreylistClient(body.client as string, config.greylist));
        await greylist.allow(client, now(), config.greylist.expiry);
        ctx.log.info({ client, action: 'allow' }, 'greylist allow');
        return { json: { client, whitelisted: true } };
      },
    },
    {
      method: 'DELETE',
      path: /^\/api\/greylist\/(.+)$/,
      async handler(ctx) {
        const client = parsed(() => parseGreylistClient(ctx.params[0], config.greylist));
        const dropped = await greylist.drop(client);
        ctx.log.info({ client, action: 'drop', dropped }, 'greylist drop');
        return { json: { client, dropped } };
      },
    },
    {
      method: 'GET',
      path: /^\/api\/ratelimit\/(.+)$/,
      async handler(ctx) {
        parsed(() => parseRateKey(ctx.params[0], config));
        return { json: { key: ctx.params[0], limits: await rateLimitStatus(ratelimit, config, ctx.params[0], now()) } };
      },
    },
    {
      method: 'DELETE',
      path: /^\/api\/ratelimit\/(.+)$/,
      async handler(ctx) {
        parsed(() => parseRateKey(ctx.params[0], config));
        const reset = await resetRateLimit(ratelimit, config, ctx.params[0]);
        ctx.log.info({ key: ctx.params[0], action: 'reset', reset }, 'ratelimit reset');
        return { json: { key: ctx.params[0], reset } };
      },
    },
  ];
}
