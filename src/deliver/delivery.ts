// Acts on a verdict: relay (with our headers), hold in quarantine, or refuse. Also releases held messages.
import type { Logger } from 'pino';
import type { Envelope, Verdict } from '../scan/types.ts';
import type { HeldMessage, Quarantine } from '../quarantine/quarantine.ts';
import type { QuarantineEntry } from '../store/types.ts';
import { SmtpError, replies } from '../smtp/replies.ts';
import { authenticationResults, fieldName, joinMessage, receivedField, rewriteHeaders, spamHeaders, splitMessage } from './headers.ts';
import { buildDsn, dsnGroups, relayDsn, wantsFailureReport, type DsnRequest } from './dsn.ts';
import type { RecipientRefusal, Relay, RelayResult } from './relay.ts';

export interface Transaction {
  tid: string;
  envelope: Envelope;
  raw: Buffer;
  /** How it came in, for our Received: line (RFC 3848): SMTP after HELO, ESMTP after EHLO, ESMTPS over TLS. */
  protocol: string;
  receivedAt: Date;
  /** The client's DSN parameters, when it gave any. */
  dsn?: DsnRequest;
}

export interface Outcome {
  /** Text after `250 ` for the client. */
  reply: string;
  relayId?: string;
  quarantineId?: string;
  /** Recipients the downstream refused, reported to the sender by DSN. */
  refused?: string[];
}

/** Turns a verdict into the reason a refused sender reads; the first rule with something to say wins. */
export type RejectReason = (verdict: Verdict) => string | undefined;

export interface DeliveryOptions {
  hostname: string;
  relay: Relay;
  quarantine: Quarantine;
  log: Logger;
  rejectReasons?: readonly RejectReason[];
  /** The same for deferrals (greylisting: when to retry). */
  tempfailReasons?: readonly RejectReason[];
}

export class Delivery {
  private readonly o: DeliveryOptions;

  constructor(options: DeliveryOptions) {
    this.o = options;
  }

  /** The reply text of a refusal; never the symbol list, which would teach spammers what to avoid. */
  rejectText(verdict: Verdict): string {
    for (const reason of this.o.rejectReasons ?? []) {
      const text = reason(verdict);
      if (text) return text;
    }
    return 'Message refused as spam';
  }

  /** The reply text of a deferral; undefined: the generic one. */
  tempfailText(verdict: Verdict): string | undefined {
    for (const reason of this.o.tempfailReasons ?? []) {
      const text = reason(verdict);
      if (text) return text;
    }
    return undefined;
  }

  /** Resolves with the 250 text, or throws the SmtpError to answer instead. */
  async act(t: Transaction, verdict: Verdict, authResults: readonly string[]): Promise<Outcome> {
    switch (verdict.action) {
      case 'reject':
        throw replies.rejected(this.rejectText(verdict), t.tid);
      case 'tempfail':
        throw replies.tempfail(t.tid, this.tempfailText(verdict));
      case 'quarantine': {
        await this.o.quarantine.hold(quarantineEntry(t, verdict), this.withOurHeaders(t, verdict, authResults));
        return { reply: `2.0.0 Ok: queued as ${t.tid}`, quarantineId: t.tid };
      }
      case 'accept':
      case 'tag':
        return this.relay(t, this.withOurHeaders(t, verdict, authResults));
    }
  }

  /**
   * Sends a held message on to the downstream, then removes it from the quarantine; null when there is none.
   * Done once even when several nodes are asked at once: the others throw AlreadyReleasedError.
   */
  async release(id: string): Promise<(Outcome & { held: HeldMessage }) | null> {
    const claim = await this.o.quarantine.claim(id);
    let released: (Outcome & { held: HeldMessage }) | null = null;
    try {
      const held = await this.o.quarantine.get(id);
      if (held) released = { ...(await this.relayHeld(id, held)), held };
    } catch (err) {
      await claim.giveBack().catch(() => {});
      throw err;
    }
    if (!released) {
      await claim.giveBack();
      return null;
    }
    // Delivered: the claim stays until it expires, so no node releases it again should this removal fail.
    await this.o.quarantine.delete(id);
    return released;
  }

  private async relayHeld(id: string, held: HeldMessage): Promise<Outcome> {
    // The operator judged it good: our verdict fields would file it as spam downstream. Our trace and
    // Authentication-Results stay (forged ones were removed when the message arrived).
    const m = splitMessage(held.raw);
    m.fields = [`X-Sluice-Released: ${new Date().toISOString()}`, ...m.fields.filter((f) => !fieldName(f).startsWith('x-spam-'))];
    const raw = joinMessage(m);
    const t: Transaction = {
      tid: id,
      envelope: { clientIp: held.entry.clientIp, helo: held.entry.helo, mailFrom: held.entry.mailFrom, rcptTo: held.entry.rcptTo },
      raw,
      protocol: 'ESMTP',
      receivedAt: new Date(held.entry.time),
      dsn: held.entry.dsn,
    };
    return this.relay(t, raw);
  }

  private withOurHeaders(t: Transaction, verdict: Verdict, authResults: readonly string[]): Buffer {
    const received = receivedField({
      helo: t.envelope.helo,
      clientHostname: t.envelope.clientHostname,
      clientIp: t.envelope.clientIp,
      hostname: this.o.hostname,
      protocol: t.protocol,
      tid: t.tid,
      rcptTo: t.envelope.rcptTo,
      date: t.receivedAt,
    });
    return rewriteHeaders(t.raw, this.o.hostname, [
      received,
      authenticationResults(this.o.hostname, authResults),
      ...spamHeaders(verdict),
    ]);
  }

  private async relay(t: Transaction, raw: Buffer): Promise<Outcome> {
    const result = await this.sendInGroups(t, raw);
    const outcome: Outcome = { reply: `2.0.0 Ok: queued as ${t.tid}`, relayId: result.queueId ?? result.response };
    if (result.refused.length) {
      outcome.refused = result.refused.map((r) => r.recipient);
      await this.notifySender(t, result.refused);
    }
    return outcome;
  }

  /**
   * One downstream transaction per group of recipients that asked for the same DSN notifications
   * (nearly always one). Once a group is in, a later group that fails cannot fail the message
   * without duplicating it for the first: its recipients are reported as refused instead.
   */
  private async sendInGroups(t: Transaction, raw: Buffer): Promise<RelayResult> {
    const groups = dsnGroups(t.dsn, t.envelope.rcptTo);
    let combined: RelayResult | undefined;
    for (const [i, to] of groups.entries()) {
      const ref = i === 0 ? t.tid : `${t.tid}-${i + 1}`;
      try {
        const result = await this.o.relay.send(t.envelope.mailFrom, to, raw, ref, relayDsn(t.dsn, to));
        combined = combined ? { ...combined, accepted: [...combined.accepted, ...result.accepted], refused: [...combined.refused, ...result.refused] } : result;
      } catch (err) {
        if (!combined) throw err;
        const e = err as SmtpError;
        const refused: RecipientRefusal[] = to.map((recipient) => ({ recipient, responseCode: e.responseCode, response: `${e.enhanced} ${e.text}` }));
        combined = { ...combined, refused: [...combined.refused, ...refused] };
      }
    }
    return combined!;
  }

  /**
   * Some recipients refused, others accepted: the message cannot be refused any more without duplicating it
   * for those who got it, so the sender gets a DSN through the downstream. A bounce is never bounced, and
   * recipients whose sender asked not to hear of failures (NOTIFY=NEVER, or NOTIFY without FAILURE) are left out.
   */
  private async notifySender(t: Transaction, all: Parameters<typeof buildDsn>[0]['refused']): Promise<void> {
    const log = this.o.log.child({ tid: t.tid });
    if (!t.envelope.mailFrom) {
      log.warn({ refused: all.map((r) => r.recipient) }, 'downstream refused recipients of a bounce; no DSN for a null sender');
      return;
    }
    const refused = all.filter((r) => wantsFailureReport(t.dsn, r.recipient));
    if (refused.length < all.length) {
      const unreported = all.filter((r) => !refused.includes(r)).map((r) => r.recipient);
      log.info({ refused: unreported }, 'downstream refused recipients whose sender asked for no failure report');
    }
    if (!refused.length) return;
    const dsn = buildDsn({ hostname: this.o.hostname, sender: t.envelope.mailFrom, original: t.raw, refused, ref: t.tid, request: t.dsn });
    try {
      await this.o.relay.send('', [t.envelope.mailFrom], dsn, `${t.tid}-dsn`);
      log.info({ refused: refused.map((r) => r.recipient) }, 'downstream refused some recipients; DSN sent to the sender');
    } catch (err) {
      // Without the DSN the refused recipients would vanish unnoticed. Defer the whole message instead:
      // the sender retries, and a duplicate for the accepted recipients is better than a silent loss.
      log.error({ refused: refused.map((r) => r.recipient), err: (err as SmtpError).message }, 'DSN for refused recipients could not be sent; deferring');
      throw replies.downstreamDeferred('some recipients were refused and the sender could not be notified', t.tid);
    }
  }
}

function quarantineEntry(t: Transaction, verdict: Verdict): QuarantineEntry {
  return {
    id: t.tid,
    time: t.receivedAt.getTime(),
    clientIp: t.envelope.clientIp,
    helo: t.envelope.helo,
    mailFrom: t.envelope.mailFrom,
    rcptTo: [...t.envelope.rcptTo],
    subject: subjectOf(t.raw),
    size: t.raw.length,
    score: verdict.score,
    action: verdict.action,
    symbols: verdict.symbols.map((s) => ({ name: s.name, score: s.score })),
    ...(t.dsn ? { dsn: t.dsn } : {}),
  };
}

function subjectOf(raw: Buffer): string {
  const field = splitMessage(raw).fields.find((f) => fieldName(f) === 'subject');
  if (!field) return '';
  return field.slice(field.indexOf(':') + 1).replace(/\r?\n[ \t]/g, ' ').trim().slice(0, 500);
}
