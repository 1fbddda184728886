// Keys and signing for tests: a DKIM key pair, its DNS record, and signed or ARC-sealed messages.
import { generateKeyPairSync } from 'node:crypto';
import { dkimSign, sealMessage } from 'mailauth';

export interface TestKey {
  privateKey: string;
  /** The TXT record to publish at `<selector>._domainkey.<domain>`. */
  record: string;
}

export function rsaKey(bits = 2048): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  return {
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    record: `v=DKIM1; k=rsa; p=${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`,
  };
}

export function message(opts: { from: string; to?: string; subject?: string; body?: string; extraHeaders?: string[] }): Buffer {
  const headers = [
    `From: ${opts.from}`,
    `To: ${opts.to ?? 'user@example.net'}`,
    `Subject: ${opts.subject ?? 'Hello'}`,
    `Date: Sat, 28 Nov 2026 00:00:00 +0000`,
    `Message-ID: <${Math.random().toString(36).slice(2)}@test>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    ...(opts.extraHeaders ?? []),
  ];
  return Buffer.from(headers.join('\r\n') + '\r\n\r\n' + (opts.body ?? 'Hello there.\r\nSee you.\r\n'));
}

export async function sign(raw: Buffer, domain: string, selector: string, key: TestKey): Promise<Buffer> {
  // mailauth takes one or more signatures in `signatureData` (its type declaration lags behind).
  const options = { signatureData: [{ signingDomain: domain, selector, privateKey: key.privateKey }] };
  const { signatures } = await dkimSign(raw, options as unknown as Parameters<typeof dkimSign>[1]);
  return Buffer.concat([Buffer.from(signatures), raw]);
}

export async function arcSeal(raw: Buffer, domain: string, selector: string, key: TestKey, authResults: string, cv: 'none' | 'pass' = 'none'): Promise<Buffer> {
  const headers = await sealMessage(raw, { signingDomain: domain, selector, privateKey: key.privateKey, authResults, cv });
  return Buffer.concat([headers, raw]);
}

/** DNS records of a sending domain for end-to-end tests: SPF allows 127.0.0.1 only, DKIM selector `sel`, DMARC p=reject. */
export function authZone(domain: string, key: TestKey): Record<string, { TXT: string[] }> {
  return {
    [domain]: { TXT: ['v=spf1 ip4:127.0.0.1 -all'] },
    [`sel._domainkey.${domain}`]: { TXT: [key.record] },
    [`_dmarc.${domain}`]: { TXT: ['v=DMARC1; p=reject'] },
  };
}
