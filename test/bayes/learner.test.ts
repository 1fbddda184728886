import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { parseMessage } from '../../src/scan/pipeline.ts';
import { bayesSettings } from '../../src/bayes/index.ts';
import { autolearnClass, bayesTrainer, LearnBatcher, messageDigest } from '../../src/bayes/learner.ts';
import { EmbeddedStore } from '../../src/store/embedded/index.ts';
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

describe('LearnBatcher', () => {
  const item = (n: number, as: 'spam' | 'ham' = 'spam') => ({ digest: `d${n}`, ids: BigInt64Array.from([BigInt(n), 1000n]), as });

  it('writes a full batch at once and the rest after the wait, each caller told its own outcome', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-batcher-'));
    const store = new EmbeddedStore(dir);
    const batches: number[] = [];
    const learnMany = store.bayes.learnMany.bind(store.bayes);
    store.bayes.learnMany = (items, now) => { batches.push(items.length); return learnMany(items, now); };
    try {
      const batcher = new LearnBatcher(store.bayes, 3, 30);
      const started = performance.now();
      const outcomes = await Promise.all([1, 2, 3, 4, 1].map((n) => batcher.learn(item(n))));
      // The fifth (a digest already learned in the first batch) waited for the timer.
      expect(performance.now() - started).toBeGreaterThanOrEqual(25);
      expect(batches).toEqual([3, 2]);
      expect(outcomes).toEqual(['learned', 'learned', 'learned', 'learned', 'unchanged']);
      expect((await store.bayes.counts(BigInt64Array.from([1000n]))).spam[0]).toBe(4);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('flush writes what waits at once; a failed batch fails each of its callers, the next still goes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-batcher-'));
    const store = new EmbeddedStore(dir);
    const learnMany = store.bayes.learnMany.bind(store.bayes);
    let fail = true;
    store.bayes.learnMany = (items, now) => (fail ? Promise.reject(new Error('disk full')) : learnMany(items, now));
    try {
      const batcher = new LearnBatcher(store.bayes, 50, 60_000);
      const first = [batcher.learn(item(1)), batcher.learn(item(2, 'ham'))].map((p) => p.catch((err: Error) => err.message));
      await batcher.flush();
      expect(await Promise.all(first)).toEqual(['disk full', 'disk full']);
      fail = false;
      const second = batcher.learn(item(3, 'ham'));
      await batcher.flush();
      expect(await second).toBe('learned');
      expect(await store.bayes.stats()).toMatchObject({ learnedSpam: 0, learnedHam: 1 });
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
