// The SMTP port: free, or held by a gateway of ours already running; anything else would stop `serve`.
import net from 'node:net';
import type { Config } from '../config/schema.ts';
import { DownstreamSession, replyText, type SmtpReply } from '../deliver/downstream-probe.ts';
import { GREETING_BANNER } from '../smtp/replies.ts';
import { fail, NETWORK_LIMIT_MS, ok, reasonOf, type CheckResult } from './result.ts';

export async function listenerCheck(config: Readonly<Config>): Promise<CheckResult> {
  const { host, port, hostname } = config.smtp;
  const where = net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
  if (port === 0) return ok('listener', 'smtp.port is 0: the system picks a free port at start');
  const err = await tryListen(host, port);
  if (!err) return ok('listener', `${where} is free`);
  if (err.code === 'EADDRINUSE') {
    const greeting = await greetingAt(reachable(host), port);
    if (greeting && isOurGreeting(greeting, hostname)) return ok('listener', `${where} is held by a running Sluice (it greets "${replyText(greeting)}")`);
    const seen = greeting ? `it greets "${replyText(greeting)}"` : 'it sends no SMTP greeting';
    return fail('listener', `${where} is held by another program (${seen})`,
      `stop that program (\`ss -ltnp 'sport = :${port}'\` names it) or set smtp.port to a free port`);
  }
  if (err.code === 'EACCES') {
    return fail('listener', `${where}: binding the port needs privilege`,
      'give the gateway CAP_NET_BIND_SERVICE (systemd: AmbientCapabilities=CAP_NET_BIND_SERVICE), or listen above 1023 and redirect port 25 to it');
  }
  if (err.code === 'EADDRNOTAVAIL') return fail('listener', `${where}: ${host} is not an address of this machine`, 'set smtp.host to one of its addresses, or 0.0.0.0 for all');
  return fail('listener', `${where}: cannot listen: ${reasonOf(err)}`, 'correct smtp.host and smtp.port');
}

/** Listens and closes at once; the error when the port cannot be taken. */
function tryListen(host: string, port: number): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}

async function greetingAt(host: string, port: number): Promise<SmtpReply | undefined> {
  try {
    const { session, greeting } = await DownstreamSession.open({ host, port, secure: false, timeoutMs: NETWORK_LIMIT_MS, hostname: 'doctor' });
    session.quit();
    return greeting;
  } catch {
    return undefined;
  }
}

/** `220 <smtp.hostname> ESMTP Sluice`, as our SMTP edge greets. */
function isOurGreeting(greeting: SmtpReply, hostname: string): boolean {
  const [name, protocol, banner] = (greeting.lines[0] ?? '').split(' ');
  return greeting.code === 220 && name?.toLowerCase() === hostname.toLowerCase() && protocol === 'ESMTP' && banner === GREETING_BANNER;
}

/** Where a listener on `host` is reached from this machine: the wildcard addresses through loopback. */
function reachable(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}
