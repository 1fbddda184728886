// GTUBE and Rspamd's GTUBE-like test patterns, with the strings taken from their publishers
// (test/fixtures/gtube), never from our own constant.
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Pipeline } from '../../src/scan/pipeline.ts';
import { gtubeCheck } from '../../src/checks/gtube.ts';
import { scoringPolicy } from '../../src/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { Check } from '../../src/scan/types.ts';
import { GTUBE, RSPAMD_TEST_PATTERNS } from '../helpers/gtube.ts';

const log = pino({ level: 'silent' });
const envelope = { clientIp: '192.0.2.1', helo: 'h.example', mailFrom: 'a@b.example', rcptTo: ['u@example.net'] };

function pipeline(testPatterns: boolean) {
  const config = parseConfig({ checks: { testPatterns } });
  return new Pipeline({ checks: [gtubeCheck({ testPatterns })], policy: scoringPolicy(config), timeoutMs: 1000, log });
}
const plain = (body: string) => Buffer.from(`Subject: test\r\n\r\n${body}\r\n`);

// How Sluice carries out each action Rspamd documents for a pattern; Sluice does not rewrite subjects, it tags.
const SLUICE_ACTION: Record<string, string> = { reject: 'reject', 'add header': 'tag', 'rewrite subject': 'tag', 'no action': 'accept' };

describe('GTUBE', () => {
  it('the fixtures agree: SpamAssassin\'s rule matches the pattern Rspamd rejects', () => {
    expect(RSPAMD_TEST_PATTERNS.get(GTUBE)).toBe('reject');
    expect(RSPAMD_TEST_PATTERNS.size).toBe(4);
  });

  it('refuses the standard string in a plain, a quoted-printable and a base64 body, and in HTML', async () => {
    const p = pipeline(false);
    const qp = GTUBE.slice(0, 30) + '=\r\n' + GTUBE.slice(30).replace(/=/g, '=3D');
    const b64 = Buffer.from(`Test ${GTUBE}\n`).toString('base64');
    const messages = [
      plain(GTUBE),
      Buffer.from(`Subject: t\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n${qp}\r\n`),
      Buffer.from(`Subject: t\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n${b64}\r\n`),
      Buffer.from(`Subject: t\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: base64\r\n\r\n${Buffer.from(`<p>${GTUBE}</p>`).toString('base64')}\r\n`),
    ];
    for (const raw of messages) {
      expect((await p.scan(envelope, raw)).verdict).toMatchObject({ action: 'reject', score: 1000, symbols: [{ name: 'GTUBE', score: 1000 }] });
    }
  });

  it('a near miss is no GTUBE', async () => {
    const { verdict } = await pipeline(false).scan(envelope, plain(GTUBE.replace('UBE-TEST', 'UBE_TEST')));
    expect(verdict.symbols).toEqual([]);
  });

  it('ignores the other test patterns by default: they would let anyone send spam past the filter', async () => {
    const p = pipeline(false);
    for (const pattern of RSPAMD_TEST_PATTERNS.keys()) {
      if (pattern === GTUBE) continue;
      expect((await p.scan(envelope, plain(pattern))).verdict).toMatchObject({ action: 'accept', symbols: [] });
    }
  });

  it('with checks.testPatterns, each pattern gets the action Rspamd documents for it', async () => {
    const p = pipeline(true);
    for (const [pattern, rspamdAction] of RSPAMD_TEST_PATTERNS) {
      const { verdict } = await p.scan(envelope, plain(pattern));
      expect({ pattern, action: verdict.action }).toEqual({ pattern, action: SLUICE_ACTION[rspamdAction] });
    }
  });

  it('with checks.testPatterns, "no action" accepts whatever else the message scores; "add header" is only a floor', async () => {
    // Spam evidence worth 12 points: quarantine by score.
    const spammy: Check = { name: 'spammy', family: 'SPAMMY', stage: 'data', run: async () => [{ name: 'SPAMMY_HIT' }] };
    const config = parseConfig({ checks: { testPatterns: true }, scores: { SPAMMY_HIT: 12 } });
    const p = new Pipeline({ checks: [gtubeCheck({ testPatterns: true }), spammy], policy: scoringPolicy(config), timeoutMs: 1000, log });
    const actions = new Map<string, string>();
    for (const [pattern, rspamdAction] of RSPAMD_TEST_PATTERNS) actions.set(rspamdAction, (await p.scan(envelope, plain(pattern))).verdict.action);
    expect(Object.fromEntries(actions)).toEqual({ reject: 'reject', 'add header': 'quarantine', 'rewrite subject': 'quarantine', 'no action': 'accept' });
  });
});
