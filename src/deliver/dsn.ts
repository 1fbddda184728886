// Delivery status notifications (RFC 3461, 3464): what a client asked for with MAIL FROM RET/ENVID and
// RCPT TO NOTIFY/ORCPT, passed on to the downstream; and our own report for recipients the downstream
// refused while it took the message for others. Sluice has no queue, so telling the sender is how
// nothing vanishes unnoticed.
import { randomBytes } from 'node:crypto';
import type { RecipientRefusal } from './relay.ts';
import { enhancedIn } from '../smtp/replies.ts';
import { rfc5322Date, splitMessage } from './headers.ts';

/** The DSN parameters of one transaction (smtp-server has decoded their xtext, refusing control characters). */
export interface DsnRequest {
  /** RET: a failure report carries the whole message or only its headers. */
  ret?: 'FULL' | 'HDRS';
  /** ENVID: the sender's own id for the transaction. */
  envid?: string;
  /** Per recipient address: NOTIFY (`NEVER`, or some of `SUCCESS`, `FAILURE`, `DELAY`) and ORCPT (`rfc822;addr`). */
  recipients: Record<string, { notify?: string[]; orcpt?: string }>;
}

/** Parameters of MAIL FROM or RCPT TO as smtp-server parses them (`RET=HDRS` → `{ RET: 'HDRS' }`). */
export type SmtpParams = Record<string, string | boolean> | undefined;

/** RET and ENVID of MAIL FROM; undefined when the client gave neither. */
export function dsnOfMailFrom(args: SmtpParams): DsnRequest | undefined {
  const ret = typeof args?.RET === 'string' ? args.RET.toUpperCase() : undefined;
  const envid = typeof args?.ENVID === 'string' ? args.ENVID : undefined;
  if (!ret && !envid) return undefined;
  return { ...(ret === 'FULL' || ret === 'HDRS' ? { ret } : {}), ...(envid ? { envid } : {}), recipients: {} };
}

/** Adds an accepted recipient's NOTIFY and ORCPT (their syntax already checked by smtp-server). */
export function addDsnRecipient(request: DsnRequest | undefined, rcpt: string, args: SmtpParams): DsnRequest | undefined {
  const notify = typeof args?.NOTIFY === 'string' ? args.NOTIFY.toUpperCase().split(',') : undefined;
  const orcpt = typeof args?.ORCPT === 'string' ? args.ORCPT : undefined;
  if (!notify && !orcpt) return request;
  const out = request ?? { recipients: {} };
  out.recipients[rcpt] = { ...(notify ? { notify } : {}), ...(orcpt ? { orcpt } : {}) };
  return out;
}

/** DSN parameters of one downstream transaction, as nodemailer takes them (it encodes the xtext itself). */
export interface RelayDsn {
  ret?: 'FULL' | 'HDRS';
  envid?: string;
  notify?: string[];
  orcpt?: string;
}

/**
 * Recipients that can share one downstream transaction: those that asked for the same NOTIFY
 * (nodemailer gives all recipients of a transaction the same RCPT parameters). Nearly always one group.
 */
export function dsnGroups(request: DsnRequest | undefined, to: readonly string[]): string[][] {
  if (!request) return [[...to]];
  const groups = new Map<string, string[]>();
  for (const rcpt of to) {
    const key = notifyOf(request, rcpt);
    const group = groups.get(key);
    if (group) group.push(rcpt);
    else groups.set(key, [rcpt]);
  }
  return [...groups.values()];
}

/**
 * What goes downstream with one transaction's recipients: RET and ENVID; NOTIFY when they all asked
 * the same (see dsnGroups); ORCPT when there is one recipient, as nodemailer cannot give each its own.
 */
export function relayDsn(request: DsnRequest | undefined, to: readonly string[]): RelayDsn | undefined {
  if (!request) return undefined;
  const out: RelayDsn = {};
  if (request.ret) out.ret = request.ret;
  if (request.envid) out.envid = request.envid;
  const notifies = new Set(to.map((r) => notifyOf(request, r)));
  const [notify] = notifies;
  if (notifies.size === 1 && notify) out.notify = notify.split(',');
  const orcpt = to.length === 1 ? request.recipients[to[0]]?.orcpt : undefined;
  if (orcpt) out.orcpt = orcpt;
  return Object.keys(out).length ? out : undefined;
}

/** A recipient's NOTIFY as it goes on the wire (`SUCCESS,FAILURE`), or '' when it asked nothing. */
function notifyOf(request: DsnRequest, rcpt: string): string {
  return request.recipients[rcpt]?.notify?.join(',') ?? '';
}

/** Whether the sender wants to hear of a failure for this recipient (asking nothing means yes). */
export function wantsFailureReport(request: DsnRequest | undefined, rcpt: string): boolean {
  const notify = request?.recipients[rcpt]?.notify;
  return !notify || notify.includes('FAILURE');
}

export interface DsnInput {
  hostname: string;
  sender: string;
  original: Buffer;
  refused: readonly RecipientRefusal[];
  ref: string;
  /** The client's DSN parameters: ENVID and each recipient's ORCPT go into the report. */
  request?: DsnRequest;
  date?: Date;
}

export function buildDsn(input: DsnInput): Buffer {
  const boundary = `dsn-${randomBytes(9).toString('hex')}`;
  const date = input.date ?? new Date();
  const headers = splitMessage(input.original).fields.join('\r\n');
  const perRecipient = input.refused
    .map((r) => {
      const status = enhancedIn(r.response) ?? (r.responseCode >= 500 ? '5.0.0' : '4.0.0');
      const orcpt = input.request?.recipients[r.recipient]?.orcpt;
      return [
        ...(orcpt ? [`Original-Recipient: ${oneLine(orcpt).replace(';', '; ')}`] : []),
        `Final-Recipient: rfc822; ${r.recipient}`,
        'Action: failed',
        `Status: ${status}`,
        `Diagnostic-Code: smtp; ${oneLine(r.response)}`,
      ].join('\r\n');
    })
    .join('\r\n\r\n');
  const human = [
    `This is the mail gateway at ${input.hostname}.`,
    '',
    'Your message was delivered to some of its recipients, but the mail server',
    'behind this gateway refused the ones listed below. The message was not',
    'delivered to them and will not be retried. You may resend it to them.',
    '',
    ...input.refused.map((r) => `<${r.recipient}>: ${oneLine(r.response)}`),
    '',
    `Reference: ${input.ref}`,
  ].join('\r\n');
  const text = [
    `From: Mail Delivery System <MAILER-DAEMON@${input.hostname}>`,
    `To: <${input.sender}>`,
    'Subject: Undelivered Mail Returned to Sender',
    `Date: ${rfc5322Date(date)}`,
    `Message-ID: <${input.ref}.dsn@${input.hostname}>`,
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=us-ascii',
    '',
    human,
    '',
    `--${boundary}`,
    'Content-Type: message/delivery-status',
    '',
    `Reporting-MTA: dns; ${input.hostname}`,
    ...(input.request?.envid ? [`Original-Envelope-Id: ${oneLine(input.request.envid)}`] : []),
    `Arrival-Date: ${rfc5322Date(date)}`,
    '',
    perRecipient,
    '',
    `--${boundary}`,
    'Content-Type: text/rfc822-headers',
    '',
    headers.replace(/\r?\n/g, '\r\n'),
    '',
    `--${boundary}--`,
    '',
  ].join('\r\n');
  return Buffer.from(text, 'latin1');
}

function oneLine(s: string): string {
  return s.replace(/[\r\n]+/g, ' ').trim();
}
