import { describe, expect, it } from 'vitest';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readMessages, splitMbox } from '../../src/mail/sources.ts';

describe('message sources', () => {
  it('splits mbox, unquoting >From and ignoring From inside a paragraph', () => {
    const mbox = 'From a@b Sat Jan  1 00:00:00 2000\nSubject: one\n\nline\n>From here\nFrom not a separator\n\nFrom the desk of a prose line\n\nFrom c@d Sat Jan  1 00:00:00 2000\nSubject: two\n\nbody\n';
    const parts = splitMbox(Buffer.from(mbox)).map((b) => b.toString());
    expect(parts).toEqual(['Subject: one\n\nline\nFrom here\nFrom not a separator\n\nFrom the desk of a prose line\n', 'Subject: two\n\nbody\n']);
  });

  it('reads files, maildirs (skipping tmp) and mbox files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-src-'));
    for (const sub of ['cur', 'new', 'tmp']) mkdirSync(join(dir, 'maildir', sub), { recursive: true });
    writeFileSync(join(dir, 'maildir', 'cur', '1'), 'Subject: cur\n\nx\n');
    writeFileSync(join(dir, 'maildir', 'new', '2'), 'Subject: new\n\nx\n');
    writeFileSync(join(dir, 'maildir', 'tmp', '3'), 'Subject: partial\n');
    writeFileSync(join(dir, 'box.mbox'), 'From a Sat Jan  1 00:00:00 2000\nSubject: m1\n\nx\n\nFrom b Sat Jan  1 00:00:00 2000\nSubject: m2\n\ny\n');
    writeFileSync(join(dir, 'single.txt'), 'From a Sat Jan  1 00:00:00 2000\nSubject: single\n\nx\n');
    const got = [];
    for await (const m of readMessages([dir])) got.push([m.file.slice(dir.length + 1), m.raw.toString().split('\n')[0]]);
    expect(got).toEqual([
      ['box.mbox:1', 'Subject: m1'], ['box.mbox:2', 'Subject: m2'],
      ['maildir/cur/1', 'Subject: cur'], ['maildir/new/2', 'Subject: new'],
      ['single.txt', 'Subject: single'],
    ]);
  });
});
