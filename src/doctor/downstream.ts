// The downstream MTA as the relay will meet it: greeting, EHLO, and RCPT TO the postmaster of each of
// our domains, then RSET and QUIT; no message is ever sent.
import type { Config } from '../config/schema.ts';
import { DownstreamSession, extensionsOf, replyText, type SmtpReply } from '../deliver/downstream-probe.ts';
import { fail, NETWORK_LIMIT_MS, ok, reasonOf, warn, type CheckResult } from './result.ts';

/** What one conversation with the downstream showed; the downstream, STARTTLS and clock checks read it. */
export interface DownstreamFindings {
  /** `host:port` */
  address: string;
  /** Why the conversation ended before RCPT, with the fix. */
  failure?: { detail: string; fix: string };
  greeting?: SmtpReply;
  /** When the greeting arrived (ms since the epoch). */
  greetedAt?: number;
  extensions?: string[];
  /** The TLS version agreed after STARTTLS. */
  tls?: string;
  accepted: string[];
  refused: { address: string; reply: string }[];
}

export async function talkToDownstream(config: Readonly<Config>): Promise<DownstreamFindings> {
  const { relay } = config;
  const found: DownstreamFindings = { address: `${relay.host}:${relay.port}`, accepted: [], refused: [] };
  let opened;
  try {
    opened = await DownstreamSession.open({ ...relay, timeoutMs: Math.min(relay.timeoutMs, NETWORK_LIMIT_MS), hostname: config.smtp.hostname });
  } catch (err) {
    found.failure = { detail: `not reachable: ${reasonOf(err)}`, fix: 'start the downstream MTA, or correct relay.host and relay.port' };
    return found;
  }
  const { session, greeting } = opened;
  found.greeting = greeting;
  found.greetedAt = Date.now();
  try {
    await converse(session, greeting, config, found);
  } catch (err) {
    found.failure ??= { detail: `conversation broke off: ${reasonOf(err)}`, fix: "look in the downstream MTA's log for why it dropped the gateway" };
  } finally {
    session.quit();
  }
  return found;
}

/** From the greeting to RSET; a step the downstream refuses ends it with `found.failure`. */
async function converse(session: DownstreamSession, greeting: SmtpReply, config: Readonly<Config>, found: DownstreamFindings): Promise<void> {
  const refusesUs = (step: string, reply: SmtpReply) => {
    found.failure = { detail: `${step}: ${replyText(reply)}`, fix: "let the downstream take mail from the gateway's address (its client restrictions or relay networks)" };
  };
  if (greeting.code !== 220) return refusesUs('greeted with', greeting);
  let ehlo = await session.command(`EHLO ${config.smtp.hostname}`);
  if (ehlo.code !== 250) return refusesUs('answered EHLO with', ehlo);
  found.extensions = extensionsOf(ehlo);
  // The relay takes STARTTLS whenever it is offered, so the rest is asked encrypted, as it will be.
  if (!config.relay.secure && found.extensions.includes('STARTTLS')) {
    try {
      found.tls = await session.startTls();
    } catch (err) {
      found.failure = {
        detail: `offers STARTTLS, which then fails (${reasonOf(err)}), so the relay cannot deliver`,
        fix: "repair the downstream's TLS set-up (certificate and key), or stop it offering STARTTLS",
      };
      return;
    }
    ehlo = await session.command(`EHLO ${config.smtp.hostname}`);
    if (ehlo.code !== 250) return refusesUs('answered EHLO after STARTTLS with', ehlo);
  }
  // The null sender, as address verification does: our own reports to senders use it too.
  const mail = await session.command('MAIL FROM:<>');
  if (mail.code !== 250) return refusesUs('refused MAIL FROM:<> with', mail);
  for (const domain of config.domains) {
    const address = `postmaster@${domain}`;
    const rcpt = await session.command(`RCPT TO:<${address}>`);
    if (rcpt.code === 250 || rcpt.code === 251) found.accepted.push(address);
    else found.refused.push({ address, reply: replyText(rcpt) });
  }
  await session.command('RSET');
}

export function downstreamCheck(found: DownstreamFindings): CheckResult {
  if (found.failure) return fail('downstream', `${found.address} ${found.failure.detail}`, found.failure.fix);
  if (found.refused.length > 0) {
    const refused = found.refused.map((r) => `RCPT TO:<${r.address}> ${r.reply}`).join(', ');
    return fail('downstream', `${found.address} refuses ${refused}`,
      'make the downstream accept mail for every domain in `domains` from the gateway, or remove the domain from `domains`');
  }
  return ok('downstream', `${found.address} greets, answers EHLO and takes RCPT TO ${found.accepted.join(', ')} (then RSET, nothing sent)`);
}

/** Whether the hop to the downstream can be encrypted; undefined when EHLO was never answered. */
export function starttlsCheck(found: DownstreamFindings, secure: boolean): CheckResult | undefined {
  if (!found.extensions) return undefined;
  if (secure) return ok('starttls', `${found.address} is spoken to over implicit TLS (relay.secure)`);
  if (found.tls) return ok('starttls', `${found.address} offers STARTTLS; the handshake agreed on ${found.tls}, as the relay's will`);
  // Offered but failed: the downstream check says so.
  if (found.extensions.includes('STARTTLS')) return undefined;
  return warn('starttls', `${found.address} does not offer STARTTLS: mail crosses to it in clear text`,
    'enable STARTTLS on the downstream, unless the link to it is private and trusted');
}
