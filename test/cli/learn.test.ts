// `sluice learn` and `sluice bayes stats` as a user runs them: a child process with real files.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSluice } from '../helpers/cli.ts';

const run = runSluice;

const stats = async (configFile: string) => JSON.parse((await run('bayes', 'stats', '-c', configFile, '--json')).stdout) as { learnedSpam: number; learnedHam: number; tokens: number };

function message(id: number, subject: string, body: string): string {
  return `From: sender${id}@example.org\nTo: user@example.net\nSubject: ${subject}\nMessage-ID: <m${id}@example.org>\n\n${body}\n`;
}

let dir: string;
let configFile: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-learn-'));
  configFile = join(dir, 'sluice.yaml');
  writeFileSync(configFile, `store: { path: ${join(dir, 'store')} }\nlog: { level: warn }\n`);
  // Spam as a maildir, ham as an mbox file.
  for (const sub of ['cur', 'new', 'tmp']) mkdirSync(join(dir, 'spam', sub), { recursive: true });
  writeFileSync(join(dir, 'spam', 'cur', '1:2,S'), message(1, 'cheap pills', 'buy cheap pills now, best prices on pills'));
  writeFileSync(join(dir, 'spam', 'new', '2'), message(2, 'win money', 'you win money, claim your money prize today'));
  writeFileSync(join(dir, 'spam', 'tmp', '3'), message(3, 'half written', 'a delivery in progress is not read'));
  writeFileSync(
    join(dir, 'ham.mbox'),
    `From a@example.org Sat Nov 28 00:00:00 2026\n${message(4, 'meeting notes', 'notes from the meeting about the release plan')}\n` +
      `From b@example.org Sat Nov 28 00:01:00 2026\n${message(5, 'lunch', 'shall we have lunch on friday at the usual place')}\n`,
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sluice learn', () => {
  it('learns maildirs and mbox files and prints a summary', async () => {
    const spam = await run('learn', '-c', configFile, '--spam', join(dir, 'spam'));
    expect(spam.code).toBe(0);
    expect(spam.stdout).toMatch(/2 messages as spam: 2 learned, 0 moved from the other class, 0 already learned, 0 failed/);
    const ham = await run('learn', '-c', configFile, '--ham', join(dir, 'ham.mbox'));
    expect(ham.stdout).toMatch(/2 messages as ham: 2 learned/);
    expect(await stats(configFile)).toMatchObject({ learnedSpam: 2, learnedHam: 2 });
  });

  it('does not count a message learned twice twice', async () => {
    const before = await stats(configFile);
    const again = await run('learn', '-c', configFile, '--spam', join(dir, 'spam'));
    expect(again.stdout).toMatch(/0 learned, 0 moved from the other class, 2 already learned/);
    expect(await stats(configFile)).toEqual(before);
  });

  it('moves the counts of a message learned again as the other class', async () => {
    const before = await stats(configFile);
    const moved = await run('learn', '-c', configFile, '--ham', join(dir, 'spam', 'cur'));
    expect(moved.stdout).toMatch(/1 messages as ham: 0 learned, 1 moved from the other class/);
    const after = await stats(configFile);
    expect(after).toMatchObject({ learnedSpam: before.learnedSpam - 1, learnedHam: before.learnedHam + 1, tokens: before.tokens });
  });

  it('names a path it cannot read, learns the rest, and exits non-zero', async () => {
    const r = await run('learn', '-c', configFile, '--ham', join(dir, 'missing'), join(dir, 'ham.mbox'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${join(dir, 'missing')}: ENOENT: no such file or directory`);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(r.stdout).toMatch(/2 already learned, 1 failed/);
  });

  it('wants exactly one class', async () => {
    expect((await run('learn', '-c', configFile, join(dir, 'spam'))).code).toBe(2);
    expect((await run('learn', '-c', configFile, '--spam', '--ham', join(dir, 'spam'))).code).toBe(2);
  });
});
