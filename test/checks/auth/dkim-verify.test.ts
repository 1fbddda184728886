// Our dkimVerify (src/checks/auth/dkim-verify.ts) against mailauth's own, the reference: the same
// results, From addresses and hidden header and ARC data for the DKIM conformance vectors, the
// corpus, and the header ends that MessageParser's byte-by-byte rule has to get right.
import { describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { dkimVerify as referenceVerify } from 'mailauth/lib/dkim/verify.js';
import type { DKIMVerifyResult } from 'mailauth';
import { dkimVerify } from '../../../src/checks/auth/dkim-verify.ts';
import { zoneResolver } from '../../../src/dns/resolver.ts';
import { mailauthResolver } from '../../../src/dns/mailauth.ts';
import type { Zone } from '../../../src/dns/zone.ts';
import { loadCorpus } from '../../../bench/corpus.ts';
import { SUITES, crlf, readSuite, stalwartVector } from '../../conformance/harness.ts';

/** Everything a caller can read, the hidden properties included (ARC's key cache is a function: left out). */
function view(result: DKIMVerifyResult): unknown {
  const hidden = result as unknown as { headers?: unknown; arc?: Record<string, unknown>; seal?: unknown };
  const arc = hidden.arc ? { ...hidden.arc } : undefined;
  return JSON.parse(JSON.stringify({ ...result, headers: hidden.headers, arc, seal: hidden.seal }));
}

async function bothOver(message: Buffer, zone: Zone = {}): Promise<{ ours: unknown; reference: unknown }> {
  const options = () => ({ resolver: mailauthResolver(zoneResolver(zone, { timeoutMs: 50 })), curTime: new Date(1667843664 * 1000) });
  return { ours: view(await dkimVerify(message, options())), reference: view(await referenceVerify(message, options())) };
}

describe('dkimVerify', () => {
  it('reads every DKIM conformance vector as mailauth does, with CRLF and with bare LF', async () => {
    const files = readdirSync(join(SUITES, 'dkim-stalwart')).filter((f) => /^\d+\.txt$/.test(f));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const { zone, message } = stalwartVector(readSuite('dkim-stalwart', file));
      const { ours, reference } = await bothOver(message, zone);
      expect(ours, file).toEqual(reference);
      // The same signed message with bare LFs, which the reader turns back into CRLF before hashing.
      const bare = await bothOver(Buffer.from(message.toString('latin1').replace(/\r\n/g, '\n'), 'latin1'), zone);
      expect(bare.ours, `${file} with bare LF`).toEqual(bare.reference);
    }
    const { ours, reference } = await bothOver(crlf(readSuite('dkim-mailauth', 'ec-signed.eml')));
    expect(ours).toEqual(reference);
  });

  it('reads the corpus as mailauth does (every 20th message)', async () => {
    const messages = loadCorpus().filter((_, i) => i % 20 === 0);
    for (const m of messages) {
      const { ours, reference } = await bothOver(m.raw);
      expect(ours, `${m.group}/${m.file}`).toEqual(reference);
    }
  });

  // MessageParser's rule (RFC 5322 2.1): the header ends at an empty line, or at once when the first line is empty.
  const edges: Record<string, string> = {
    'CRLF message': 'From: a@example.org\r\nSubject: x\r\n\r\nbody\r\n',
    'bare LF message': 'From: a@example.org\nSubject: x\n\nbody\n.\n',
    'mixed line ends': 'From: a@example.org\r\nSubject: x\n\r\nbody\r\n',
    'empty header, CRLF': '\r\nFrom: not a header\r\n',
    'empty header, LF': '\nFrom: not a header\n',
    'header only, no empty line': 'From: a@example.org\r\nSubject: x\r\n',
    'header only, no line end': 'From: a@example.org',
    'blank line at the very end': 'From: a@example.org\r\n\r\n',
    'CR alone is no line end': 'From: a@example.org\r\r\nSubject: x\r\n\r\nbody',
  };
  for (const [name, text] of Object.entries(edges)) {
    it(`finds the end of the header as mailauth does: ${name}`, async () => {
      const { ours, reference } = await bothOver(Buffer.from(text, 'latin1'));
      expect(ours).toEqual(reference);
    });
  }

  it('finds an empty line that straddles the 64 kB chunks the message is written in', async () => {
    const CHUNK = 64 * 1024;
    for (const eol of ['\r\n', '\n']) {
      for (let shift = 0; shift <= 2 * eol.length; shift++) {
        // A long folded header field puts the empty line across the first chunk boundary.
        const head = `From: a@example.org${eol}X-Long: a`;
        const fill = CHUNK - head.length - shift;
        const text = `${head}${'b'.repeat(fill)}${eol}${eol}body ü${eol}`;
        const { ours, reference } = await bothOver(Buffer.from(text, 'latin1'));
        expect(ours, `${JSON.stringify(eol)} shifted by ${shift}`).toEqual(reference);
      }
    }
  });
});
