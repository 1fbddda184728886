import { describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Quarantine } from '../../src/quarantine/quarantine.ts';
import { EmbeddedStore } from '../../src/store/embedded/index.ts';
import { newId } from '../../src/util/ids.ts';

describe('quarantine recovery', () => {
  it('re-indexes a complete held message missing from the index and drops half-written files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-recover-'));
    const store = new EmbeddedStore(join(dir, 'store'));
    const q = new Quarantine(join(dir, 'q'), 30, store.quarantine, pino({ level: 'silent' }));
    const [whole, half] = [newId(), newId()];
    const entry = { id: whole, time: Date.now(), clientIp: '192.0.2.1', helo: 'h', mailFrom: 'a@b.example', rcptTo: ['u@example.net'], subject: 's', size: 1, score: 11, action: 'quarantine' as const, symbols: [] };
    writeFileSync(join(dir, 'q', `${whole}.eml`), 'Subject: s\r\n\r\nx\r\n');
    writeFileSync(join(dir, 'q', `${whole}.json`), JSON.stringify(entry));
    writeFileSync(join(dir, 'q', `${half}.eml`), 'Subject: half\r\n\r\nx\r\n');
    writeFileSync(join(dir, 'q', `${half}.eml.tmp-123`), 'partial');
    expect(await q.recover()).toBe(1);
    expect((await q.list({ limit: 10 })).entries.map((e) => e.id)).toEqual([whole]);
    expect(readdirSync(join(dir, 'q')).sort()).toEqual([`${whole}.eml`, `${whole}.json`]);
    expect(await q.recover()).toBe(0);
    await store.close();
  });
});
