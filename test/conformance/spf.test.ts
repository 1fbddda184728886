// SPF conformance: openspf's RFC 7208 and RFC 4408 suites, pyspf's extra cases and Stalwart's per-mechanism
// set, each case evaluated by Sluice's SPF check code through Sluice's DNS layer. The RFC 7208 suite is
// served by a real DNS server on loopback; the others by zone literals in the same layer.
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { ptrName } from '../../src/dns/reverse.ts';
import type { Zone } from '../../src/dns/zone.ts';
import { evaluateSpf } from '../../src/checks/auth/spf.ts';
import { Tally, addRecords, authDeps, envelope, readSuite, spfOver, withWireDns } from './harness.ts';
import { SPF_KNOWN_FAILURES } from './known-failures.ts';

interface OpenSpfTest {
  helo: string;
  host: string;
  mailfrom: string;
  result: string | string[];
}
interface OpenSpfScenario {
  description: string;
  tests: Record<string, OpenSpfTest>;
  zonedata?: Record<string, (Record<string, unknown> | string)[]>;
}

/**
 * openspf zone data → zone literal. As the suite asks of drivers, SPF (type 99) records are served as TXT
 * where a name has no TXT of its own (`TXT: NONE` means "no TXT"). `TIMEOUT` stands for the type-99 query
 * timing out, so it only makes the name time out when there is no TXT to answer with.
 */
function openSpfZone(scenario: OpenSpfScenario): Zone {
  const zone: Zone = {};
  for (const [name, records] of Object.entries(scenario.zonedata ?? {})) {
    addRecords(zone, name, {});
    const txt: (string | string[])[] = [];
    const spf: (string | string[])[] = [];
    let explicitTxt = false;
    let timeout = false;
    for (const record of records) {
      if (record === 'TIMEOUT') {
        timeout = true;
        continue;
      }
      const [type, value] = Object.entries(record as Record<string, unknown>)[0];
      switch (type) {
        case 'TXT':
          explicitTxt = true;
          if (value !== 'NONE') txt.push(value as string | string[]);
          break;
        case 'SPF':
          if (value !== 'NONE') spf.push(value as string | string[]);
          break;
        case 'A':
        case 'AAAA':
        case 'PTR':
          addRecords(zone, name, { [type]: [String(value)] });
          break;
        case 'MX': {
          const [priority, exchange] = value as [number, string];
          addRecords(zone, name, { MX: [{ priority, exchange }] });
          break;
        }
        case 'CNAME':
          addRecords(zone, name, { CNAME: String(value) });
          break;
        default:
          throw new Error(`unknown record type ${type}`);
      }
    }
    const served = explicitTxt ? txt : spf;
    if (served.length) addRecords(zone, name, { TXT: served });
    else if (timeout) addRecords(zone, name, { timeout: true });
  }
  return zone;
}

function openSpfSuite(suite: string, file: string, wire: boolean) {
  const scenarios = parseAllDocuments(readSuite('spf-openspf', file))
    .map((d) => d.toJSON() as OpenSpfScenario | null)
    .filter((s): s is OpenSpfScenario => !!s);
  const tally = new Tally(suite);
  const known = SPF_KNOWN_FAILURES[suite] ?? {};

  describe(suite, () => {
    for (const scenario of scenarios) {
      const zone = openSpfZone(scenario);
      describe(scenario.description, () => {
        for (const [name, t] of Object.entries(scenario.tests)) {
          const reason = known[name];
          const test = reason ? it.fails : it;
          test(reason ? `${name} (known failure: ${reason})` : name, async () => {
            const env = envelope(t.host, t.helo, t.mailfrom);
            const outcome = wire
              ? await withWireDns(zone, (dns) => evaluateSpf(authDeps(dns), env))
              : await spfOver(zone, env);
            const expected = ([] as string[]).concat(t.result);
            const ok = expected.includes(outcome.result);
            tally.record(ok, !!reason);
            expect(expected, `${name}: got ${outcome.result}`).toContain(outcome.result);
          });
        }
      });
    }
  });
}

openSpfSuite('spf-openspf/rfc7208', 'rfc7208-tests.yml', true);
openSpfSuite('spf-openspf/rfc4408', 'rfc4408-tests.yml', false);
openSpfSuite('spf-openspf/pyspf', 'test.yml', false);

// Stalwart's files are line-oriented (keys repeat, order matters): read them line by line. A record line
// sets that name's records from then on (a later `spf:` for the same name replaces the earlier one), and
// each `expect:` runs against the zone as it stands at that line. Names starting `_dns_error` fail with SERVFAIL.
interface StalwartCase {
  id: string;
  zone: Zone;
  helo: string;
  sender: string;
  ip: string;
  expect: string;
}

function stalwartCases(file: string): StalwartCase[] {
  const cases: StalwartCase[] = [];
  readSuite('spf-stalwart', file).split(/^---[ \t]*$/m).forEach((chunk, si) => {
    const zone: Zone = {};
    let helo = '';
    let sender = '';
    let ip = '';
    for (const rawLine of chunk.split('\n')) {
      const line = rawLine.trim().replace(/^- /, '');
      const m = /^([a-z]+):\s*(.*)$/.exec(line);
      if (!m) continue;
      const [, key, rest] = m;
      const [name, ...valueParts] = rest.trim().split(' ');
      const value = valueParts.join(' ');
      const list = () => value.split(',').map((v) => v.trim()).filter(Boolean);
      const set = (owner: string, records: Zone[string]) => {
        const k = owner.toLowerCase();
        zone[k] = { ...zone[k], ...records };
      };
      switch (key) {
        case 'spf':
        case 'exp':
          set(name, { TXT: [value] });
          break;
        case 'a':
          set(name, { A: list() });
          break;
        case 'aaaa':
          set(name, { AAAA: list() });
          break;
        case 'ptr':
          set(ptrName(name), { PTR: list() });
          break;
        case 'mx':
          set(name, { MX: list().map((_, i) => ({ exchange: `mx${i}.${name}`, priority: i })) });
          list().forEach((address, i) => set(`mx${i}.${name}`, address.includes(':') ? { AAAA: [address] } : { A: [address] }));
          break;
        case 'domain':
          helo = rest.trim();
          break;
        case 'sender':
          sender = rest.trim();
          break;
        case 'ip':
          ip = rest.trim();
          break;
        case 'expect': {
          const snapshot: Zone = structuredClone(zone);
          snapshot['*._dns_error.org'] = { servfail: true };
          snapshot['_dns_error.org'] = { servfail: true };
          snapshot['_dns_error.test.org'] = { servfail: true };
          const n = cases.filter((c) => c.id.startsWith(`${file}#${si + 1}:`)).length + 1;
          cases.push({ id: `${file}#${si + 1}.${n} ${sender || helo} from ${ip}`, zone: snapshot, helo, sender, ip, expect: name });
          break;
        }
      }
    }
  });
  return cases;
}

function stalwartSuite(file: string, tally: Tally) {
  const suite = `spf-stalwart/${file}`;
  const known = SPF_KNOWN_FAILURES['spf-stalwart'] ?? {};
  describe(suite, () => {
    for (const c of stalwartCases(file)) {
      const reason = known[c.id];
      (reason ? it.fails : it)(reason ? `${c.id} (known failure: ${reason})` : c.id, async () => {
        const outcome = await spfOver(c.zone, envelope(c.ip, c.helo, c.sender), { hostname: 'localdomain.org' });
        tally.record(outcome.result === c.expect, !!reason);
        expect(outcome.result, c.id).toBe(c.expect);
      });
    }
  });
}

const stalwartTally = new Tally('spf-stalwart');
for (const file of ['a.yml', 'all.yml', 'basic.yml', 'examples.yml', 'exists.yml', 'exp.yml', 'include.yml', 'ip.yml', 'macro.yml', 'mx.yml', 'ptr.yml', 'redirect.yml']) {
  stalwartSuite(file, stalwartTally);
}
