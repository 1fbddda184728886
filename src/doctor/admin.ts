// The operator's HTTP listener: a token when it is on, and off the public interface (it has no TLS).
import type { Config } from '../config/schema.ts';
import { isLoopback } from '../checks/client/rdns.ts';
import { fail, ok, warn, type CheckResult } from './result.ts';

export function adminCheck(config: Readonly<Config>, env: NodeJS.ProcessEnv = process.env): CheckResult {
  const { admin } = config;
  if (!admin.enabled) return ok('admin', 'admin listener off (admin.enabled: false)');
  const where = `${admin.host}:${admin.port}`;
  const tokens = (admin.token ? 1 : 0) + Object.keys(admin.tokens).length;
  if (tokens === 0) return fail('admin', `admin listener on ${where} without a token`, 'set admin.token or the environment variable SLUICE_ADMIN_TOKEN (16+ characters, e.g. `openssl rand -hex 24`)');
  // The file may not hold the token: then only this shell's environment does, and the service needs it too.
  const fromEnv = admin.token !== undefined && admin.token === env.SLUICE_ADMIN_TOKEN ? ' (admin.token from SLUICE_ADMIN_TOKEN here: the service needs it in its own environment)' : '';
  const detail = `admin listener on ${where} with ${tokens} token(s)${fromEnv}`;
  if (admin.host !== 'localhost' && !isLoopback(admin.host)) {
    return warn('admin', `${detail}, on a non-loopback address without TLS`, 'set admin.host to 127.0.0.1 and reach it through a TLS reverse proxy or an SSH tunnel');
  }
  return ok('admin', detail);
}
