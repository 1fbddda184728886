import { describe, expect, it } from 'vitest';
import { score, type ScoringPolicy } from '../../src/scan/scorer.ts';
import { defineSymbols } from '../../src/scan/symbols.ts';

defineSymbols({ TEST_A: { weight: 3, description: 'a' }, TEST_B: { weight: -1.5, description: 'b' } });

const policy = (p: Partial<ScoringPolicy> = {}): ScoringPolicy => ({
  scores: {}, groupCaps: {}, force: {}, actions: { tag: 5, quarantine: 10, reject: 15 }, ...p,
});

describe('scorer', () => {
  it('sums built-in weights times factors, config weights overriding', () => {
    const v = score([{ name: 'TEST_A' }, { name: 'TEST_B', factor: 2 }, { name: 'UNKNOWN_X' }], policy());
    expect(v.score).toBe(0);
    expect(v.symbols).toEqual([{ name: 'TEST_A', score: 3 }, { name: 'UNKNOWN_X', score: 0 }, { name: 'TEST_B', score: -3 }]);
    expect(score([{ name: 'TEST_A' }], policy({ scores: { TEST_A: 6 } }))).toMatchObject({ score: 6, action: 'tag', required: 5 });
  });

  it('picks the action by thresholds, inclusive', () => {
    const at = (n: number) => score([{ name: 'TEST_A', factor: n / 3 }], policy()).action;
    expect([at(4.99), at(5), at(9.99), at(10), at(15), at(100)]).toEqual(['accept', 'tag', 'tag', 'quarantine', 'reject', 'reject']);
  });

  it('applies a force rule with a score floor only at or above it', () => {
    const p = policy({ force: { TEST_GATE: 'tempfail' }, forceFrom: { TEST_GATE: 4 } });
    expect(score([{ name: 'TEST_GATE' }, { name: 'TEST_A' }], p)).toMatchObject({ action: 'accept', score: 3 });
    expect(score([{ name: 'TEST_GATE' }, { name: 'TEST_A', factor: 4 / 3 }], p)).toMatchObject({ action: 'tempfail', forcedBy: 'TEST_GATE' });
  });

  it('counts a symbol once, with its strongest factor', () => {
    expect(score([{ name: 'TEST_A', factor: 0.5 }, { name: 'TEST_A', factor: 2 }, { name: 'TEST_A' }], policy()).score).toBe(6);
  });

  it('caps a family', () => {
    const v = score([{ name: 'TEST_A' }, { name: 'TEST_C' }], policy({ scores: { TEST_C: 4 }, groupCaps: { TEST: 5 } }));
    expect(v.score).toBe(5);
  });

  it('lets a force rule decide whatever the score, the harsher rule winning', () => {
    expect(score([{ name: 'TEST_B' }], policy({ force: { TEST_B: 'quarantine' } }))).toMatchObject({ action: 'quarantine', forcedBy: 'TEST_B' });
    expect(score([{ name: 'TEST_A' }, { name: 'TEST_B' }], policy({ force: { TEST_B: 'quarantine', TEST_A: 'reject' } }))).toMatchObject({ action: 'reject', forcedBy: 'TEST_A' });
    expect(score([{ name: 'TEST_A', factor: 10 }], policy({ force: { TEST_A: 'accept' } })).action).toBe('accept');
    // A rule is a floor: it never lowers what the score says.
    const v = score([{ name: 'TEST_A', factor: 10 }, { name: 'TEST_B' }], policy({ force: { TEST_B: 'quarantine' } }));
    expect(v.action).toBe('reject');
    expect(v.forcedBy).toBeUndefined();
  });
});
