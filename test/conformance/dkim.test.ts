// DKIM conformance: verification vectors from Stalwart and mailauth, and dkimpy's sign-then-verify fixtures,
// each verified by Sluice's message-authentication code through Sluice's DNS layer (zone literals).
import { describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { dkimSign } from 'mailauth';
import type { Zone } from '../../src/dns/zone.ts';
import { SUITES, Tally, addRecords, authOver, crlf, readSuite, stalwartVector } from './harness.ts';
import { DKIM_KNOWN_FAILURES } from './known-failures.ts';

function check(tally: Tally, id: string, run: () => Promise<boolean>, expectation: string): void {
  const reason = DKIM_KNOWN_FAILURES[id];
  (reason ? it.fails : it)(reason ? `${id} (known failure: ${reason})` : `${id}: ${expectation}`, async () => {
    const ok = await run();
    tally.record(ok, !!reason);
    expect(ok, `${id}: expected ${expectation}`).toBe(true);
  });
}

// Upstream fixes the verification time, as some signatures carry t= and x=.
const STALWART_TIME = () => new Date(1667843664 * 1000);

describe('dkim-stalwart', () => {
  const tally = new Tally('dkim-stalwart');
  for (const file of readdirSync(join(SUITES, 'dkim-stalwart')).filter((f) => /^\d+\.txt$/.test(f)).sort()) {
    check(tally, `dkim-stalwart/${file}`, async () => {
      const { zone, message } = stalwartVector(readSuite('dkim-stalwart', file));
      const { dkim } = await authOver(zone, message, { now: STALWART_TIME });
      return dkim.length > 0 && dkim[dkim.length - 1].result === 'pass';
    }, 'the last signature passes');
  }
});

describe('dkim-mailauth', () => {
  const tally = new Tally('dkim-mailauth');
  check(tally, 'dkim-mailauth/ec-signed.eml', async () => {
    const dns = JSON.parse(readSuite('dkim-mailauth', 'ec-dns.json')) as Record<string, { TXT?: string[][] }>;
    const zone: Zone = {};
    for (const [name, records] of Object.entries(dns)) addRecords(zone, name, { TXT: (records.TXT ?? []).map((chunks) => chunks) });
    const { dkim } = await authOver(zone, crlf(readSuite('dkim-mailauth', 'ec-signed.eml')));
    return dkim.length === 2 && dkim.every((s) => s.result === 'pass');
  }, 'both the ed25519 and the rsa signature pass');
});

// dkimpy's fixtures are keys and messages: sign with mailauth, publish the record, verify with Sluice.
const dkimpy = (file: string) => readSuite('dkim-dkimpy', file);
const record = (file: string) => dkimpy(file).trim();

/** A raw 32-byte Ed25519 seed (base64) as a PKCS#8 PEM key. */
function ed25519Pem(seedBase64: string): string {
  const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(seedBase64.trim(), 'base64')]);
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64')}\n-----END PRIVATE KEY-----\n`;
}

async function signWith(message: Buffer, domain: string, selector: string, privateKey: string): Promise<Buffer> {
  const options = { signatureData: [{ signingDomain: domain, selector, privateKey }] };
  const { signatures } = await dkimSign(message, options as unknown as Parameters<typeof dkimSign>[1]);
  return Buffer.concat([Buffer.from(signatures), message]);
}

async function signAndVerify(messageFile: string, keyPem: string, domain: string, selector: string, keyRecord: string, alter?: (m: string) => string) {
  let signed = await signWith(crlf(dkimpy(messageFile)), domain, selector, keyPem);
  if (alter) signed = Buffer.from(alter(signed.toString('latin1')), 'latin1');
  const { dkim } = await authOver({ [`${selector}._domainkey.${domain}`]: { TXT: [keyRecord] } }, signed);
  // Some fixtures carry older signatures of their own (keys not published here): judge ours.
  return dkim.filter((s) => s.domain === domain && s.selector === selector);
}

const passes = (dkim: { result: string }[]) => dkim.length > 0 && dkim.every((s) => s.result === 'pass');
const noPass = (dkim: { result: string }[]) => dkim.length > 0 && dkim.every((s) => s.result !== 'pass');

describe('dkim-dkimpy', () => {
  const tally = new Tally('dkim-dkimpy');
  const rsa = () => dkimpy('test.private');
  check(tally, 'dkim-dkimpy/test.txt', async () => passes(await signAndVerify('test.message', rsa(), 'example.com', 'test', record('test.txt'))), 'pass');
  check(tally, 'dkim-dkimpy/test2.txt', async () => passes(await signAndVerify('test2.message', dkimpy('test2.private'), 'example.com', 'test', record('test2.txt'))), 'pass without k=');
  check(tally, 'dkim-dkimpy/test_extra.message', async () => passes(await signAndVerify('test_extra.message', rsa(), 'example.com', 'test', record('test.txt'))), 'pass');
  check(tally, 'dkim-dkimpy/message.mbox', async () => passes(await signAndVerify('message.mbox', rsa(), 'example.com', 'test', record('test.txt'))), 'pass');
  check(tally, 'dkim-dkimpy/badversion.txt', async () => noPass(await signAndVerify('test.message', rsa(), 'example.com', 'test', record('badversion.txt'))), 'no pass');
  check(tally, 'dkim-dkimpy/badk.txt', async () => noPass(await signAndVerify('test.message', rsa(), 'example.com', 'test', record('badk.txt'))), 'no pass');
  check(tally, 'dkim-dkimpy/test_bad.txt', async () => noPass(await signAndVerify('test.message', rsa(), 'example.com', 'test', record('test_bad.txt'))), 'no pass');
  check(tally, 'dkim-dkimpy/test_tlsrpt.txt', async () => noPass(await signAndVerify('test.message', rsa(), 'example.com', 'test', record('test_tlsrpt.txt'))), 'no pass (key for s=tlsrpt only)');
  check(tally, 'dkim-dkimpy/ed25519test', async () => passes(await signAndVerify('ed25519test.msg', ed25519Pem(dkimpy('ed25519test.key')), 'example.net', 'test', record('ed25519test.dns'))), 'pass');
  check(tally, 'dkim-dkimpy/ed25519test altered', async () =>
    noPass(await signAndVerify('ed25519test.msg', ed25519Pem(dkimpy('ed25519test.key')), 'example.net', 'test', record('ed25519test.dns'), (m) => m.replace(/\r\n\r\n([\s\S])/, '\r\n\r\nX$1'))), 'fail after the body changed');
  check(tally, 'dkim-dkimpy/rfc8032_7_1.key', async () => passes(await signAndVerify('rfc6376.msg', ed25519Pem(dkimpy('rfc8032_7_1.key')), 'football.example.com', 'brisbane', 'v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=')), 'pass');
  check(tally, 'dkim-dkimpy/rfc6376.signed.msg', async () => {
    const zone: Zone = {
      'brisbane._domainkey.football.example.com': { TXT: ['v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo='] },
      'test._domainkey.football.example.com': { TXT: [record('test.txt').replace(/g=\*; /, '')] },
    };
    const { dkim } = await authOver(zone, crlf(dkimpy('rfc6376.signed.msg')));
    return dkim.length === 2 && passes(dkim);
  }, 'both RFC 8463 signatures pass');
  check(tally, 'dkim-dkimpy/ed25519test2.msg', async () => {
    const { dkim } = await authOver({ 'sed._domainkey.test.ex': { TXT: [record('eximtest.dns')] } }, crlf(dkimpy('ed25519test2.msg')));
    return passes(dkim);
  }, 'the Exim ed25519 signature passes');
  it.skip('dkim-dkimpy/test_nofrom.message: not applicable, it tests a signer refusing a message without From; Sluice only verifies');
});
