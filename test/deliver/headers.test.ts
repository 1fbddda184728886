import { describe, expect, it } from 'vitest';
import { authenticationResults, isForgedVerdictField, receivedField, rewriteHeaders, spamHeaders, splitMessage } from '../../src/deliver/headers.ts';

const verdict = (score: number, names: string[] = []) => ({
  action: 'accept' as const, score, required: 5, symbols: names.map((name) => ({ name, score: 1 })),
});

describe('headers', () => {
  it('writes the SpamAssassin form', () => {
    expect(spamHeaders(verdict(7.34, ['B_SYM', 'A_SYM']))).toEqual([
      'X-Spam-Flag: YES', 'X-Spam-Score: 7.3', 'X-Spam-Level: *******', 'X-Spam-Status: Yes, score=7.3 required=5.0 tests=A_SYM,B_SYM',
    ]);
    expect(spamHeaders(verdict(-2))).toEqual(['X-Spam-Score: -2.0', 'X-Spam-Level: ', 'X-Spam-Status: No, score=-2.0 required=5.0 tests=none']);
  });

  it('folds a long tests= list', () => {
    const names = Array.from({ length: 20 }, (_, i) => `SOME_LONG_SYMBOL_${i}`);
    const status = spamHeaders(verdict(1, names)).at(-1)!;
    for (const line of status.split('\r\n')) expect(line.length).toBeLessThanOrEqual(78);
    expect(status.replace(/\r\n\t/g, '')).toContain(names.sort().join(','));
  });

  it('recognises forged verdict fields by name and by our authserv-id only', () => {
    expect(isForgedVerdictField('X-Spam-Flag: NO', 'mx.example.net')).toBe(true);
    expect(isForgedVerdictField('x-spam-whatever: 1', 'mx.example.net')).toBe(true);
    expect(isForgedVerdictField('Authentication-Results: MX.Example.Net; dkim=pass', 'mx.example.net')).toBe(true);
    expect(isForgedVerdictField('Authentication-Results: (comment) mx.example.net 1; spf=pass', 'mx.example.net')).toBe(true);
    expect(isForgedVerdictField('Authentication-Results:\r\n\tmx.example.net;\r\n\tspf=pass', 'mx.example.net')).toBe(true);
    expect(isForgedVerdictField('Authentication-Results: mx.example.net.evil; spf=pass', 'mx.example.net')).toBe(false);
    expect(isForgedVerdictField('Subject: X-Spam-Flag: YES', 'mx.example.net')).toBe(false);
  });

  it('rewrites headers keeping the message\'s line breaks and body bytes', () => {
    const raw = Buffer.from('Subject: hi\nX-Spam-Flag: YES\nX-Long: a\n b\n\nbody \xff\n', 'latin1');
    const out = rewriteHeaders(raw, 'mx.example.net', ['X-New: 1', 'X-Folded: a\r\n\tb']).toString('latin1');
    expect(out).toBe('X-New: 1\nX-Folded: a\n\tb\nSubject: hi\nX-Long: a\n b\n\nbody \xff\n');
  });

  it('handles a message with no body or no header', () => {
    expect(splitMessage(Buffer.from('Subject: only\r\n')).fields).toEqual(['Subject: only']);
    expect(rewriteHeaders(Buffer.from(''), 'h', ['X-A: 1']).toString()).toBe('X-A: 1\r\n\r\n');
  });

  it('builds Received and Authentication-Results', () => {
    const r = receivedField({ helo: 'evil (x)', clientIp: '2001:db8::1', hostname: 'mx.example.net', protocol: 'ESMTPS', tid: 'ID1', rcptTo: ['a@b', 'c@d'], date: new Date(Date.UTC(2026, 0, 2, 3, 4, 5)) });
    expect(r).toBe('Received: from evil x ([IPv6:2001:db8::1])\r\n\tby mx.example.net (Sluice) with ESMTPS id ID1;\r\n\tFri, 2 Jan 2026 03:04:05 +0000');
    expect(authenticationResults('mx', [])).toBe('Authentication-Results: mx; none');
    expect(authenticationResults('mx', ['spf=pass smtp.mailfrom=a.example', 'dkim=none'])).toBe('Authentication-Results: mx;\r\n\tspf=pass smtp.mailfrom=a.example;\r\n\tdkim=none');
  });
});
