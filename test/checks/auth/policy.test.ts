// Config of the authentication family and the force rules and refusal text it gives the gateway.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';
import { authForceRules, rejectTextFor } from '../../../src/checks/auth/index.ts';
import type { Verdict } from '../../../src/scan/types.ts';

describe('authentication config', () => {
  it('has safe defaults: DMARC enforced, no early SPF refusal, no trusted sealers', () => {
    const config = parseConfig({}, 'test');
    expect(config.spf).toEqual({ rejectFail: false });
    expect(config.dmarc).toEqual({ enforce: true, trustedArcSealers: [] });
    expect(config.dns).toMatchObject({ timeoutMs: 2000, cacheSize: 10_000, maxQueriesPerMessage: 250 });
  });

  it('accepts resolver addresses with ports and refuses host names', () => {
    const servers = ['127.0.0.1', '127.0.0.1:5353', '::1', '[::1]:5353', '[2001:db8::53]:53'];
    expect(parseConfig({ dns: { servers } }, 'test').dns.servers).toEqual(servers);
    expect(() => parseConfig({ dns: { servers: ['dns.example.net'] } }, 'test')).toThrow(/dns\.servers/);
    expect(() => parseConfig({ dns: { servers: ['127.0.0.1:99999'] } }, 'test')).toThrow(/dns\.servers/);
  });

  it('normalizes trusted ARC sealers', () => {
    expect(parseConfig({ dmarc: { trustedArcSealers: ['Google.COM.'] } }, 'test').dmarc.trustedArcSealers).toEqual(['google.com']);
  });
});

describe('force rules and refusal text', () => {
  it('enforces DMARC policies by default and SPF fail only when asked', () => {
    expect(authForceRules({ spf: { rejectFail: false }, dmarc: { enforce: true } })).toEqual({ DMARC_POLICY_REJECT: 'reject', DMARC_POLICY_QUARANTINE: 'quarantine' });
    expect(authForceRules({ spf: { rejectFail: true }, dmarc: { enforce: false } })).toEqual({ SPF_FAIL: 'reject' });
  });

  it('names DMARC or SPF when they decided a refusal, and nothing otherwise', () => {
    const verdict = (forcedBy: string | undefined, action: Verdict['action'] = 'reject'): Verdict => ({
      action, score: 6, required: 5, forcedBy, symbols: [{ name: 'DMARC_POLICY_REJECT', score: 4, detail: 'bank.example' }, { name: 'SPF_FAIL', score: 2, detail: 'bank.example' }],
    });
    expect(rejectTextFor(verdict('DMARC_POLICY_REJECT'))).toBe('Message rejected: DMARC authentication failed and the policy of bank.example is to reject');
    expect(rejectTextFor(verdict('SPF_FAIL'))).toMatch(/^Message rejected: SPF .*bank\.example$/);
    expect(rejectTextFor(verdict(undefined))).toBeUndefined();
    expect(rejectTextFor(verdict('GTUBE'))).toBeUndefined();
    expect(rejectTextFor(verdict('DMARC_POLICY_QUARANTINE', 'quarantine'))).toBeUndefined();
  });
});
