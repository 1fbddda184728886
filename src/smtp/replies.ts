// The SMTP replies Sluice gives, in one place. Code elsewhere throws these; only the SMTP edge sends them.

/** Follows `220 <hostname> ESMTP` in our greeting; `sluice doctor` knows a running gateway by it. */
export const GREETING_BANNER = 'Sluice';

/** An SMTP reply as an error: `code` is the basic reply code, `enhanced` the RFC 3463 status. */
export class SmtpError extends Error {
  readonly responseCode: number;
  readonly enhanced: string;
  readonly text: string;

  constructor(code: number, enhanced: string, text: string) {
    // smtp-server sends `message` after the code: the enhanced status goes first, as RFC 2034 has it.
    super(`${enhanced} ${text}`);
    this.name = 'SmtpError';
    this.responseCode = code;
    this.enhanced = enhanced;
    this.text = text;
  }

  get temporary(): boolean {
    return this.responseCode >= 400 && this.responseCode < 500;
  }
}

export const replies = {
  relayDenied: (domain: string) => new SmtpError(550, '5.7.1', `Relaying denied: we do not accept mail for ${domain}`),
  tooManyRecipients: () => new SmtpError(452, '4.5.3', 'Too many recipients'),
  tooManyConnections: () => new SmtpError(421, '4.7.0', 'Too many connections from your address, try again later'),
  /** Too much mail held in memory at once: the sender retries later (RFC 5321 452, RFC 3463 4.3.1). */
  busy: () => new SmtpError(452, '4.3.1', 'Insufficient system resources, try again later'),
  messageTooBig: (max: number) => new SmtpError(552, '5.3.4', `Message size exceeds fixed maximum message size ${max}`),
  rejected: (reason: string, ref: string) => new SmtpError(550, '5.7.1', `${reason} (reference ${ref})`),
  tempfail: (ref: string, reason = 'Message deferred, try again later') => new SmtpError(451, '4.7.1', `${reason} (reference ${ref})`),
  transactionTimeout: () => new SmtpError(421, '4.4.2', 'Transaction took too long, closing connection'),
  /** Our own failure while handling a message: never permanent, the sender keeps the message and retries. */
  localError: (ref: string) => new SmtpError(451, '4.3.0', `Local error in processing, try again later (reference ${ref})`),
  downstreamUnavailable: (ref: string) => new SmtpError(451, '4.4.1', `Downstream server unavailable, try again later (reference ${ref})`),
  downstreamTimeout: (ref: string) => new SmtpError(451, '4.4.2', `Downstream server timed out, try again later (reference ${ref})`),
  downstreamDeferred: (text: string, ref: string) => new SmtpError(451, '4.4.0', `Downstream deferred: ${stripEnhanced(text)} (reference ${ref})`),
  downstreamRefused: (code: number, text: string, ref: string) =>
    new SmtpError(code >= 500 && code < 600 ? code : 554, enhancedIn(text) ?? '5.0.0', `Downstream refused: ${stripEnhanced(text)} (reference ${ref})`),
};

/** The enhanced status code at the start of a reply text, e.g. `5.1.1` of `550 5.1.1 No such user`. */
export function enhancedIn(text: string): string | undefined {
  return /^(?:\d{3}[ -])?([245]\.\d{1,3}\.\d{1,3})\b/.exec(text.trim())?.[1];
}

function stripEnhanced(text: string): string {
  return text.trim().replace(/^\d{3}[ -]/, '').replace(/^[245]\.\d{1,3}\.\d{1,3}\s*/, '');
}
