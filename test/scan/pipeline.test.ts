import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Pipeline, parseMessage } from '../../src/scan/pipeline.ts';
import type { Check } from '../../src/scan/types.ts';
import { gtubeCheck } from '../../src/checks/gtube.ts';
import { mimeCheck } from '../../src/checks/mime.ts';
import { GTUBE } from '../helpers/gtube.ts';

const log = pino({ level: 'silent' });
const envelope = { clientIp: '192.0.2.1', helo: 'h.example', mailFrom: 'a@b.example', rcptTo: ['u@example.net'] };
const policy = { scores: {}, groupCaps: {}, force: {}, actions: { tag: 5, quarantine: 10, reject: 15 } };

describe('pipeline', () => {
  it('turns a throwing or slow check into <FAMILY>_ERROR and still gives a verdict', async () => {
    let aborted = false;
    const slow: Check = {
      name: 'slow', family: 'SLOW', stage: 'mail', timeoutMs: 50,
      run: (ctx) => new Promise((resolve) => ctx.signal.addEventListener('abort', () => { aborted = true; resolve([]); })),
    };
    const broken: Check = { name: 'broken', family: 'BROKEN', stage: 'data', run: async () => { throw new Error('boom'); } };
    const fine: Check = { name: 'fine', family: 'FINE', stage: 'connect', run: async (ctx) => [{ name: `FINE_${ctx.envelope.clientIp === '192.0.2.1' ? 'OK' : 'NO'}` }] };
    const p = new Pipeline({ checks: [slow, broken, fine, gtubeCheck()], policy, timeoutMs: 1000, log });
    const started = Date.now();
    const { verdict } = await p.scan(envelope, Buffer.from('Subject: x\r\n\r\nbody\r\n'));
    expect(Date.now() - started).toBeLessThan(900);
    expect(aborted).toBe(true);
    expect(verdict.symbols.map((s) => s.name).sort()).toEqual(['BROKEN_ERROR', 'FINE_OK', 'SLOW_ERROR']);
    expect(verdict.action).toBe('accept');
  });

  it('times out each check of a stage under its own limit, also when a sibling fails at once', async () => {
    const aborted: string[] = [];
    const hanging = (name: string, timeoutMs?: number): Check => ({
      name, family: name.toUpperCase(), stage: 'data', timeoutMs,
      run: (ctx) => new Promise((resolve) => ctx.signal.addEventListener('abort', () => { aborted.push(name); resolve([{ name: 'PARTIAL' }]); })),
    });
    const throwsAtOnce: Check = { name: 'sync', family: 'SYNC', stage: 'data', run: () => { throw new Error('at once'); } };
    const quick: Check = { name: 'quick', family: 'QUICK', stage: 'data', run: async () => [{ name: 'QUICK_OK' }] };
    const p = new Pipeline({ checks: [throwsAtOnce, quick, hanging('slow'), hanging('slower', 150)], policy, timeoutMs: 60, log });
    const started = Date.now();
    const { verdict } = await p.scan(envelope, Buffer.from('Subject: x\r\n\r\nbody\r\n'));
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(140);
    expect(took).toBeLessThan(1000);
    // Each was told when its own time was up, and lost the race first: no partial answer counts.
    expect(aborted).toEqual(['slow', 'slower']);
    expect(verdict.symbols.map((s) => s.name).sort()).toEqual(['QUICK_OK', 'SLOWER_ERROR', 'SLOW_ERROR', 'SYNC_ERROR']);
  });

  it('finds GTUBE in raw bytes even when the message does not parse as MIME', async () => {
    const p = new Pipeline({ checks: [gtubeCheck()], policy, timeoutMs: 1000, log });
    const raw = Buffer.from(`\x00\xff garbage ${GTUBE}`, 'latin1');
    expect((await p.scan(envelope, raw)).verdict).toMatchObject({ action: 'reject', score: 1000 });
  });

  it('scores a MIME structure the parser refuses (over 1,000 parts), which would hide the body from the content checks', async () => {
    const p = new Pipeline({ checks: [gtubeCheck(), mimeCheck], policy, timeoutMs: 1000, log });
    const multipart = (n: number) => Buffer.from(`Subject: x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n${
      '--b\r\nContent-Type: text/plain\r\n\r\nx\r\n'.repeat(n)}--b--\r\n`);
    const raw = multipart(1001);
    const { verdict } = await p.scan(envelope, raw);
    expect(verdict.symbols).toEqual([expect.objectContaining({ name: 'MIME_UNPARSABLE', score: 3, detail: 'Max allowed child nodes exceeded' })]);
    // Many parts within the limit, and a merely broken message, are still mail: nothing.
    expect((await p.scan(envelope, multipart(990))).verdict.symbols).toEqual([]);
    expect((await p.scan(envelope, Buffer.from('Content-Type: multipart/mixed; boundary="never"\r\n\r\n--never\r\nContent-Type: text/plain; charset=nope\r\n\r\n=ZZ\xff\r\n', 'latin1'))).verdict.symbols).toEqual([]);
  });

  it('finds GTUBE in a base64-encoded body', async () => {
    const p = new Pipeline({ checks: [gtubeCheck()], policy, timeoutMs: 1000, log });
    const body = Buffer.from(`Test ${GTUBE}\n`).toString('base64');
    const raw = Buffer.from(`Subject: x\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n${body}\r\n`);
    expect((await p.scan(envelope, raw)).verdict.symbols.map((s) => s.name)).toEqual(['GTUBE']);
  });
});

describe('parseMessage with checks.maxScanSize', () => {
  const attachment = Buffer.alloc(300_000, 7).toString('base64').replace(/.{76}/g, '$&\r\n');
  const raw = Buffer.from([
    'From: a@b.example', 'Subject: report', 'MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary="b"', '',
    '--b', 'Content-Type: text/plain', '', 'Please find the report attached.', '',
    '--b', 'Content-Type: application/octet-stream; name="report.bin"', 'Content-Transfer-Encoding: base64', '', attachment, '--b--', '',
  ].join('\r\n'));

  it('parses the first bytes of a larger message, up to a line end, and keeps the whole message as raw', async () => {
    const m = await parseMessage(raw, 16_384);
    expect(m.raw).toBe(raw);
    expect(m.parsedBytes).toBeLessThanOrEqual(16_384);
    expect(raw[m.parsedBytes! - 1]).toBe(0x0a);
    expect(m.parsed?.subject).toBe('report');
    expect(m.parsed?.text?.trim()).toBe('Please find the report attached.');
  });

  it('parses all of a message within the limit, or without one', async () => {
    expect((await parseMessage(raw, raw.length)).parsedBytes).toBeUndefined();
    const whole = await parseMessage(raw);
    expect(whole.parsedBytes).toBeUndefined();
    expect(whole.parsed?.attachments[0].size).toBe(300_000);
  });
});
