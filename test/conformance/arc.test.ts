// ARC conformance: ValiMail's validation suite and Stalwart's chain vectors, validated by Sluice's
// message-authentication code through Sluice's DNS layer (zone literals). The signing suite is not run:
// Sluice validates ARC chains but does not seal.
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import type { Zone } from '../../src/dns/zone.ts';
import { Tally, addRecords, authOver, crlf, readSuite, stalwartVector } from './harness.ts';
import { ARC_KNOWN_FAILURES } from './known-failures.ts';

interface ArcScenario {
  description: string;
  tests: Record<string, { message: string; cv: string | null; description?: string }>;
  'txt-records': Record<string, string>;
}

describe('arc-valimail', () => {
  const tally = new Tally('arc-valimail (validation)');
  const scenarios = parseAllDocuments(readSuite('arc-valimail', 'arc-draft-validation-tests.yml'))
    .map((d) => d.toJSON() as ArcScenario | null)
    .filter((s): s is ArcScenario => !!s);
  for (const scenario of scenarios) {
    const zone: Zone = {};
    for (const [name, value] of Object.entries(scenario['txt-records'] ?? {})) addRecords(zone, name, { TXT: [value] });
    describe(scenario.description.trim(), () => {
      for (const [name, t] of Object.entries(scenario.tests)) {
        // An empty cv is given for chains whose newest seal says cv=fail: such a chain can only fail.
        const expected = (t.cv || 'fail').trim().toLowerCase();
        const reason = ARC_KNOWN_FAILURES[name];
        (reason ? it.fails : it)(reason ? `${name} (known failure: ${reason})` : `${name}: ${expected}`, async () => {
          const { arc } = await authOver(zone, crlf(t.message ?? ''));
          tally.record(arc.result === expected, !!reason);
          expect(arc.result, `${name}: ${t.description ?? ''}`).toBe(expected);
        });
      }
    });
  }
});

describe('arc-stalwart', () => {
  const tally = new Tally('arc-stalwart');
  for (const file of ['001.txt', '002.txt']) {
    it(`arc-stalwart/${file}: the chain passes and a DKIM signature passes`, async () => {
      const { zone, message } = stalwartVector(readSuite('arc-stalwart', file));
      const { arc, dkim } = await authOver(zone, message, { now: () => new Date(1667843664 * 1000) });
      const ok = arc.result === 'pass' && dkim.some((s) => s.result === 'pass');
      tally.record(ok, false);
      expect({ arc: arc.result, dkimPass: dkim.some((s) => s.result === 'pass') }).toEqual({ arc: 'pass', dkimPass: true });
    });
  }
});
