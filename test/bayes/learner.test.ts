import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { parseMessage } from '../../src/scan/pipeline.ts';
import { autolearnClass, messageDigest } from '../../src/bayes/learner.ts';
import type { Verdict } from '../../src/scan/types.ts';

const verdict = (score: number, symbols: [string, number][]): Verdict => ({
  action: 'accept', score, required: 5, symbols: symbols.map(([name, s]) => ({ name, score: s })),
});

describe('autolearn', () => {
  const on = parseConfig({ bayes: { autolearn: true } });

  it('is off by default', () => {
    expect(autolearnClass(verdict(30, [['GTUBE', 30]]), parseConfig({}))).toBeNull();
  });

  it('learns spam only when the other checks alone are convincing', () => {
    expect(autolearnClass(verdict(14, [['DNSBL_ZEN_SBL', 6], ['SPF_FAIL', 3], ['BAYES_SPAM', 5]]), on)).toBe('spam');
    // Mostly Bayes: not learned, or Bayes would teach itself.
    expect(autolearnClass(verdict(12, [['BAYES_SPAM', 5], ['SPF_SOFTFAIL', 2], ['URIBL_X', 5]]), { ...on, bayes: { ...on.bayes, autolearnEvidence: 8 } })).toBeNull();
    expect(autolearnClass(verdict(8, [['DNSBL_ZEN_SBL', 8]]), on)).toBeNull();
  });

  it('learns ham only when nothing but Bayes leans spammy and the total is low', () => {
    expect(autolearnClass(verdict(-3, [['BAYES_HAM', -3], ['DKIM_PASS', 0]]), on)).toBe('ham');
    expect(autolearnClass(verdict(-2.5, [['BAYES_HAM', -3], ['SPF_SOFTFAIL', 0.5]]), on)).toBeNull();
  });

  it('never learns when a check failed', () => {
    expect(autolearnClass(verdict(-3, [['BAYES_HAM', -3], ['DNSBL_ERROR', 0]]), on)).toBeNull();
  });
});

describe('message digest', () => {
  it('ignores the headers each hop adds, not the message', async () => {
    const body = 'Message-ID: <1@example.org>\r\nSubject: hi\r\n\r\nhello there\r\n';
    const a = await parseMessage(Buffer.from('Received: from a by b\r\n' + body));
    const b = await parseMessage(Buffer.from('Received: from c by d\r\nDelivered-To: x@example.net\r\n' + body));
    const c = await parseMessage(Buffer.from(body.replace('hello', 'goodbye')));
    expect(messageDigest(a)).toBe(messageDigest(b));
    expect(messageDigest(a)).not.toBe(messageDigest(c));
  });
});

describe('trainer', () => {
  it('learns raw messages as ham or spam, and autolearns only when told to', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { EmbeddedStore } = await import('../../src/store/embedded/index.ts');
    const { bayesSettings } = await import('../../src/bayes/index.ts');
    const { bayesTrainer } = await import('../../src/bayes/learner.ts');
    const dir = mkdtempSync(join(tmpdir(), 'sluice-trainer-'));
    const store = new EmbeddedStore(dir);
    try {
      const config = parseConfig({ bayes: { autolearn: true } });
      const trainer = bayesTrainer(store.bayes, config, bayesSettings(config));
      const raw = Buffer.from('Message-ID: <t1@example.org>\r\nSubject: release me\r\n\r\nthis was a false positive after all\r\n');
      expect(await trainer.learnSpam(raw)).toBe('learned');
      expect(await trainer.learnHam(raw)).toBe('relearned');
      const other = await parseMessage(Buffer.from('Message-ID: <t2@example.org>\r\nSubject: x\r\n\r\nbuy now\r\n'));
      expect(await trainer.autolearn(other, verdict(20, [['DNSBL_ZEN_SBL', 15], ['BAYES_SPAM', 5]]))).toBe('spam');
      expect(await trainer.autolearn(other, verdict(1, [['BAYES_SPAM', 1]]))).toBeNull();
      expect((await store.bayes.stats())).toMatchObject({ learnedSpam: 1, learnedHam: 1 });
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
