// A delivery status notification (RFC 3464) for recipients the downstream refused while it took the
// message for others. Sluice has no queue, so telling the sender is how nothing vanishes unnoticed.
import { randomBytes } from 'node:crypto';
import type { RecipientRefusal } from './relay.ts';
import { enhancedIn } from '../smtp/replies.ts';
import { rfc5322Date, splitMessage } from './headers.ts';

export interface DsnInput {
  hostname: string;
  sender: string;
  original: Buffer;
  refused: readonly RecipientRefusal[];
  ref: string;
  date?: Date;
}

export function buildDsn(input: DsnInput): Buffer {
  const boundary = `dsn-${randomBytes(9).toString('hex')}`;
  const date = input.date ?? new Date();
  const headers = splitMessage(input.original).fields.join('\r\n');
  const perRecipient = input.refused
    .map((r) => {
      const status = enhancedIn(r.response) ?? (r.responseCode >= 500 ? '5.0.0' : '4.0.0');
      return [
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
