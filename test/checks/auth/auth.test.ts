// SPF, DKIM, DMARC and ARC through the real pipeline and scorer, with DNS from a zone literal.
import { beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { Pipeline } from '../../../src/scan/pipeline.ts';
import type { Envelope } from '../../../src/scan/types.ts';
import { zoneResolver } from '../../../src/dns/resolver.ts';
import type { Zone } from '../../../src/dns/zone.ts';
import { authChecks, authForceRules, rejectTextFor, type AuthDeps } from '../../../src/checks/auth/index.ts';
import { arcSeal, message, rsaKey, sign, type TestKey } from '../../helpers/dkim.ts';

let key: TestKey;
let listKey: TestKey;
let zone: Zone;
beforeAll(() => {
  key = rsaKey();
  listKey = rsaKey();
  zone = {
    'example.com': { TXT: ['v=spf1 ip4:127.0.0.1 -all'], A: ['127.0.0.1'] },
    'sel._domainkey.example.com': { TXT: [key.record] },
    '_dmarc.example.com': { TXT: ['v=DMARC1; p=reject'] },
    'quarantined.example': { TXT: ['v=spf1 ip4:127.0.0.1 -all'] },
    '_dmarc.quarantined.example': { TXT: ['v=DMARC1; p=quarantine'] },
    'sampled.example': { TXT: ['v=spf1 -all'] },
    '_dmarc.sampled.example': { TXT: ['v=DMARC1; p=reject; pct=30'] },
    'parent.example': { TXT: ['v=spf1 -all'] },
    'sub.parent.example': { A: ['192.0.2.1'] },
    '_dmarc.parent.example': { TXT: ['v=DMARC1; p=reject; sp=quarantine'] },
    'soft.example': { TXT: ['v=spf1 ~all'] },
    'broken.example': { TXT: ['v=spf1 ip4:300.1.1.1 -all'] },
    'huge.example': { TXT: ['v=spf1 ' + Array.from({ length: 400 }, (_, i) => `ip4:10.${i >> 8}.${i & 255}.0/24`).join(' ') + ' -all'] },
    'badkey._domainkey.example.com': { TXT: ['v=DKIM1; k=rsa; p=bm90IGEga2V5'] },
    'huge._domainkey.example.com': { TXT: ['v=DKIM1; k=rsa; p=' + 'QUFB'.repeat(5000)] },
    'slow.example': { TXT: ['v=spf1 include:timeout.slow.example -all'] },
    'timeout.slow.example': { timeout: true },
    'list.example.org': { TXT: ['v=spf1 ip4:127.0.0.9 -all'] },
    'arc._domainkey.list.example.org': { TXT: [listKey.record] },
    'tmp.example': { TXT: ['v=spf1 a a a a a a a a a a a a -all'], A: ['192.0.2.9'] },
  };
});

const silent = pino({ level: 'silent' });

function setup(options: { enforce?: boolean; rejectFail?: boolean; trusted?: string[]; random?: number; budget?: number; timeoutMs?: number } = {}) {
  const dns = zoneResolver(zone, { timeoutMs: 100 });
  const deps: AuthDeps = {
    dns,
    hostname: 'mx.example.net',
    maxQueriesPerMessage: options.budget ?? 100,
    evaluationTimeoutMs: options.timeoutMs ?? 2000,
    trustedArcSealers: options.trusted ?? [],
    random: () => options.random ?? 0,
  };
  const force = authForceRules({ spf: { rejectFail: options.rejectFail ?? false }, dmarc: { enforce: options.enforce ?? true } });
  const pipeline = new Pipeline({
    checks: authChecks(deps),
    policy: { scores: {}, groupCaps: {}, force, actions: { tag: 5, quarantine: 10, reject: 15 } },
    timeoutMs: 5000,
    log: silent,
  });
  return { pipeline, dns };
}

function envelope(ip: string, mailFrom: string, helo = 'client.example'): Envelope {
  return { clientIp: ip, helo, mailFrom, rcptTo: ['user@example.net'] };
}

const names = (r: { verdict: { symbols: { name: string }[] } }) => r.verdict.symbols.map((s) => s.name).sort();

describe('authentication checks', () => {
  it('a signed message from a permitted address passes SPF, DKIM and DMARC', async () => {
    const { pipeline } = setup();
    const raw = await sign(message({ from: 'alice@example.com' }), 'example.com', 'sel', key);
    const r = await pipeline.scan(envelope('127.0.0.1', 'alice@example.com'), raw);
    expect(names(r)).toEqual(['ARC_NONE', 'DKIM_PASS', 'DMARC_PASS', 'SPF_PASS']);
    expect(r.verdict.action).toBe('accept');
    expect(r.authResults.find((a) => a.startsWith('spf='))).toMatch(/^spf=pass .*smtp\.mailfrom=example\.com/);
    expect(r.authResults).toContainEqual(expect.stringMatching(/^dkim=pass header\.d=example\.com header\.s=sel header\.a=rsa-sha256 header\.b=\S{8}$/));
    expect(r.authResults).toContainEqual(expect.stringMatching(/^dmarc=pass .*header\.from=example\.com/));
    expect(r.authResults).toContain('arc=none');
  });

  it('unsigned mail from another address fails DMARC and is refused under p=reject, naming DMARC', async () => {
    const { pipeline } = setup();
    const r = await pipeline.scan(envelope('127.0.0.5', 'alice@example.com'), message({ from: 'alice@example.com' }));
    expect(names(r)).toEqual(['ARC_NONE', 'DKIM_NONE', 'DMARC_FAIL', 'DMARC_POLICY_REJECT', 'SPF_FAIL']);
    expect(r.verdict.action).toBe('reject');
    expect(r.verdict.forcedBy).toBe('DMARC_POLICY_REJECT');
    expect(rejectTextFor(r.verdict)).toMatch(/DMARC.*example\.com/);
    expect(r.authResults).toContain('dkim=none');
    expect(r.authResults).toContainEqual(expect.stringMatching(/^spf=fail/));
    expect(r.authResults).toContainEqual(expect.stringMatching(/^dmarc=fail .*policy\.dmarc=reject/));
  });

  it('p=quarantine sends the message to quarantine; enforce:false only adds score', async () => {
    const raw = message({ from: 'bob@quarantined.example' });
    const enforced = await setup().pipeline.scan(envelope('127.0.0.5', 'bob@quarantined.example'), raw);
    expect(enforced.verdict.action).toBe('quarantine');
    expect(enforced.verdict.forcedBy).toBe('DMARC_POLICY_QUARANTINE');

    const advisory = await setup({ enforce: false }).pipeline.scan(envelope('127.0.0.5', 'alice@example.com'), message({ from: 'alice@example.com' }));
    expect(advisory.verdict.forcedBy).toBeUndefined();
    expect(names(advisory)).toContain('DMARC_POLICY_REJECT');
    expect(advisory.verdict.score).toBeGreaterThan(5);
  });

  it('applies sp= to subdomains and pct= sampling to the policy', async () => {
    const sub = await setup().pipeline.scan(envelope('127.0.0.5', 'x@sub.parent.example'), message({ from: 'x@sub.parent.example' }));
    expect(names(sub)).toContain('DMARC_POLICY_QUARANTINE');

    // pct=30: a draw below 30 applies p=reject, a draw above it the next lower policy.
    const applied = await setup({ random: 0.1 }).pipeline.scan(envelope('127.0.0.5', 'x@sampled.example'), message({ from: 'x@sampled.example' }));
    expect(names(applied)).toContain('DMARC_POLICY_REJECT');
    const sampledOut = await setup({ random: 0.9 }).pipeline.scan(envelope('127.0.0.5', 'x@sampled.example'), message({ from: 'x@sampled.example' }));
    expect(names(sampledOut)).toContain('DMARC_POLICY_QUARANTINE');
  });

  it('a body altered after signing gives dkim=fail', async () => {
    const signed = await sign(message({ from: 'alice@example.com' }), 'example.com', 'sel', key);
    const altered = Buffer.from(signed.toString().replace('See you.', 'Send money.'));
    const r = await setup().pipeline.scan(envelope('127.0.0.1', 'alice@example.com'), altered);
    expect(names(r)).toContain('DKIM_FAIL');
    expect(r.authResults).toContainEqual(expect.stringMatching(/^dkim=fail .*header\.d=example\.com header\.s=sel/));
    // SPF still passes aligned, so DMARC passes.
    expect(names(r)).toContain('DMARC_PASS');
  });

  it('garbage DKIM-Signature headers and keys that are not keys give PERMERROR or FAIL, and the message goes on', async () => {
    const garbage = message({ from: 'alice@example.com', extraHeaders: ['DKIM-Signature: this is ;;; not = a signature ===', 'DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=badkey; h=from; bh=AAAA; b=AAAA',
      'DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=huge; h=from; bh=AAAA; b=AAAA'] });
    const r = await setup().pipeline.scan(envelope('127.0.0.1', 'alice@example.com'), garbage);
    const dkim = names(r).filter((n) => n.startsWith('DKIM_'));
    expect(dkim.length).toBeGreaterThan(0);
    expect(dkim.every((n) => n === 'DKIM_PERMERROR' || n === 'DKIM_FAIL')).toBe(true);
    expect(names(r)).toContain('DMARC_PASS');
    expect(r.verdict.action).toBe('accept');

    // Properly signed, but the published keys are not keys (one of them a 20 kB TXT record).
    for (const selector of ['badkey', 'huge']) {
      const signed = await sign(message({ from: 'alice@example.com' }), 'example.com', selector, key);
      const s = await setup().pipeline.scan(envelope('127.0.0.1', 'alice@example.com'), signed);
      expect(names(s)).toContain('DKIM_PERMERROR');
      expect(s.authResults).toContainEqual(expect.stringMatching(new RegExp(`^dkim=neutral .*header\\.s=${selector}`)));
    }
  });

  it('malformed and huge SPF records are PERMERROR; softfail is SOFTFAIL', async () => {
    const { pipeline } = setup();
    const raw = message({ from: 'x@elsewhere.example' });
    expect(names(await pipeline.scan(envelope('127.0.0.5', 'x@broken.example'), raw))).toContain('SPF_PERMERROR');
    const huge = await pipeline.scan(envelope('127.0.0.5', 'x@huge.example'), raw);
    expect(names(huge).filter((n) => n.startsWith('SPF_'))).toHaveLength(1);
    expect(names(await pipeline.scan(envelope('127.0.0.5', 'x@soft.example'), raw))).toContain('SPF_SOFTFAIL');
    expect(names(await pipeline.scan(envelope('127.0.0.5', 'x@tmp.example'), raw))).toContain('SPF_PERMERROR'); // > 10 lookups
  });

  it('the null sender is checked with the HELO name', async () => {
    const r = await setup().pipeline.scan(envelope('127.0.0.1', '', 'example.com'), message({ from: 'mailer-daemon@example.com' }));
    expect(names(r)).toContain('SPF_PASS');
    expect(r.authResults.find((a) => a.startsWith('spf='))).toMatch(/smtp\.helo=example\.com/);
  });

  it('DNS timeouts give TEMPERROR within the time limit', async () => {
    const { pipeline } = setup();
    const t0 = Date.now();
    const r = await pipeline.scan(envelope('127.0.0.5', 'x@slow.example'), message({ from: 'x@slow.example' }));
    expect(names(r)).toContain('SPF_TEMPERROR');
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('a spent per-message DNS budget is a temporary error, not a verdict', async () => {
    const { pipeline } = setup({ budget: 1 });
    const raw = await sign(message({ from: 'alice@example.com' }), 'example.com', 'sel', key);
    const r = await pipeline.scan(envelope('127.0.0.1', 'alice@example.com'), raw);
    expect(names(r)).toContain('SPF_PASS');
    expect(names(r)).toContain('DKIM_TEMPERROR');
    expect(names(r)).not.toContain('DMARC_POLICY_REJECT');
  });

  it('spf.rejectFail forces a refusal before the body, naming SPF', async () => {
    const { pipeline } = setup({ rejectFail: true });
    const session = pipeline.begin('t1', envelope('127.0.0.5', 'alice@example.com'));
    session.start('connect');
    session.start('mail');
    const verdict = await session.preDataVerdict();
    expect(verdict.action).toBe('reject');
    expect(verdict.forcedBy).toBe('SPF_FAIL');
    expect(rejectTextFor(verdict)).toMatch(/SPF/);
  });

  it('a valid ARC chain sealed by a trusted forwarder overrides the DMARC policy; an untrusted one does not', async () => {
    // The original is signed by example.com; the list changes the subject (breaking DKIM) and seals.
    const original = await sign(message({ from: 'alice@example.com', subject: 'Topic' }), 'example.com', 'sel', key);
    const modified = Buffer.from(original.toString().replace('Subject: Topic', 'Subject: [list] Topic'));
    const sealed = await arcSeal(modified, 'list.example.org', 'arc', listKey, 'mx.list.example.org; dkim=pass header.d=example.com; spf=pass smtp.mailfrom=example.com; dmarc=pass');
    const env = () => envelope('127.0.0.9', 'list-bounces@list.example.org');

    const trusted = await setup({ trusted: ['list.example.org'] }).pipeline.scan(env(), sealed);
    expect(names(trusted)).toEqual(expect.arrayContaining(['ARC_PASS', 'DKIM_FAIL', 'DMARC_FAIL', 'DMARC_ARC_OVERRIDE']));
    expect(names(trusted)).not.toContain('DMARC_POLICY_REJECT');
    expect(trusted.verdict.action).not.toBe('reject');
    expect(trusted.authResults).toContainEqual(expect.stringMatching(/^arc=pass/));

    const untrusted = await setup().pipeline.scan(env(), sealed);
    expect(names(untrusted)).toContain('ARC_PASS');
    expect(untrusted.verdict.forcedBy).toBe('DMARC_POLICY_REJECT');
  });

  it('a broken ARC chain is ARC_FAIL and never overrides', async () => {
    const original = await sign(message({ from: 'alice@example.com' }), 'example.com', 'sel', key);
    const sealed = await arcSeal(original, 'list.example.org', 'arc', listKey, 'mx.list.example.org; dkim=pass');
    const tampered = Buffer.from(sealed.toString().replace('Hello there.', 'Hello world.'));
    const r = await setup({ trusted: ['list.example.org'] }).pipeline.scan(envelope('127.0.0.9', 'x@list.example.org'), tampered);
    expect(names(r)).toContain('ARC_FAIL');
    expect(r.verdict.forcedBy).toBe('DMARC_POLICY_REJECT');
  });
});
