// The Metrics object on its own: what each hook counts, the overview buckets, the store wrapper.
import { describe, expect, it } from 'vitest';
import { Metrics } from '../../src/admin/metrics.ts';
import type { Store } from '../../src/store/types.ts';

const value = (text: string, series: string) => {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

describe('Metrics', () => {
  it('counts verdicts, symbols and refusals before DATA with the bytes they saved', async () => {
    const m = new Metrics({ processMetrics: false });
    m.verdict('reject', [{ name: 'DNSBL_ZEN_SBL' }, { name: 'RDNS_NONE' }], { savedBytes: 52_000 });
    m.verdict('reject', [{ name: 'DNSBL_ZEN_SBL' }], { savedBytes: 0 });
    m.verdict('accept', []);
    const text = await m.text();
    expect(value(text, 'sluice_messages_total{action="reject"}')).toBe(2);
    expect(value(text, 'sluice_messages_total{action="accept"}')).toBe(1);
    expect(value(text, 'sluice_symbols_total{symbol="DNSBL_ZEN_SBL"}')).toBe(2);
    expect(value(text, 'sluice_refused_before_data_total')).toBe(2);
    expect(value(text, 'sluice_refused_before_data_bytes_total')).toBe(52_000);
  });

  it('counts greylisting and rate limits with the bytes they kept off the link, the mean standing in for an unannounced size', async () => {
    const m = new Metrics({ processMetrics: false });
    m.trafficCauses({ GREYLIST_NEW: 'greylist', GREYLIST_EARLY: 'greylist', RATELIMIT_SENDER: 'ratelimit' });
    m.verdict('accept', [], undefined, { size: 1000 });
    m.verdict('accept', [], undefined, { size: 3000 });
    m.verdict('tempfail', [{ name: 'GREYLIST_NEW' }], { savedBytes: 5000 }, { forcedBy: 'GREYLIST_NEW' });
    m.verdict('tempfail', [{ name: 'GREYLIST_EARLY' }], {}, { forcedBy: 'GREYLIST_EARLY' });
    // A second recipient refused in a transaction that already counted its bytes.
    m.verdict('tempfail', [{ name: 'GREYLIST_NEW' }], { savedBytes: 0 }, { forcedBy: 'GREYLIST_NEW' });
    m.verdict('accept', [{ name: 'GREYLIST_PASSED' }, { name: 'GREYLIST_AUTOWHITELIST' }], undefined, { size: 2000 });
    m.verdict('reject', [{ name: 'RATELIMIT_SENDER' }], {}, { forcedBy: 'RATELIMIT_SENDER' });
    const text = await m.text();
    expect(value(text, 'sluice_greylist_deferred_total')).toBe(3);
    expect(value(text, 'sluice_greylist_passed_total')).toBe(1);
    expect(value(text, 'sluice_greylist_autowhitelisted_total')).toBe(1);
    expect(value(text, 'sluice_ratelimited_total{symbol="RATELIMIT_SENDER"}')).toBe(1);
    // Announced 5000; the unannounced one at the mean of 1000 and 3000; the rate-limited one at the mean of three.
    expect(value(text, 'sluice_bytes_not_received_total{cause="greylist"}')).toBe(5000 + 2000);
    expect(value(text, 'sluice_bytes_not_received_total{cause="ratelimit"}')).toBe(2000);
    expect(value(text, 'sluice_refused_before_data_bytes_total')).toBe(9000);
    expect(value(text, 'sluice_refused_before_data_total')).toBe(4);
  });

  it('reads the DNS layer and the quarantine size at scrape time', async () => {
    const m = new Metrics({ processMetrics: false });
    const dns = { stats: { lookups: 10, cacheHits: 4, queries: 6, failures: 1 } };
    m.trackDns(dns);
    let held = 7;
    m.trackQuarantine(async () => held);
    let text = await m.text();
    expect(value(text, 'sluice_dns_lookups_total')).toBe(10);
    expect(value(text, 'sluice_dns_cache_hit_ratio')).toBe(0.4);
    expect(value(text, 'sluice_quarantine_messages')).toBe(7);
    dns.stats.lookups = 20;
    dns.stats.cacheHits = 14;
    held = 3;
    text = await m.text();
    expect(value(text, 'sluice_dns_lookups_total')).toBe(20);
    expect(value(text, 'sluice_dns_cache_hits_total')).toBe(14);
    expect(value(text, 'sluice_dns_cache_hit_ratio')).toBe(0.7);
    expect(value(text, 'sluice_quarantine_messages')).toBe(3);
  });

  it('times checks and relays, and counts relay failures by reason', async () => {
    const m = new Metrics({ processMetrics: false });
    m.check('spf', 0.003, true);
    m.check('spf', 0.2, false);
    m.relay(0.02);
    m.relay(1.5, 'deferred');
    const text = await m.text();
    expect(value(text, 'sluice_check_duration_seconds_count{check="spf",outcome="ok"}')).toBe(1);
    expect(value(text, 'sluice_check_duration_seconds_bucket{le="0.005",check="spf",outcome="ok"}')).toBe(1);
    expect(value(text, 'sluice_check_duration_seconds_count{check="spf",outcome="error"}')).toBe(1);
    expect(value(text, 'sluice_relay_duration_seconds_count{outcome="ok"}')).toBe(1);
    expect(value(text, 'sluice_relay_failures_total{reason="deferred"}')).toBe(1);
  });

  it('keeps per-minute counts by action for the overview', () => {
    let now = Date.UTC(2026, 10, 28, 10, 0, 30);
    const m = new Metrics({ processMetrics: false, now: () => now });
    m.verdict('accept', []);
    now += 60_000;
    m.verdict('accept', []);
    m.verdict('quarantine', []);
    now += 5 * 60_000;
    m.verdict('reject', []);
    const minutes = m.overview(10, 1);
    expect(minutes.step).toBe(60_000);
    expect(minutes.counts.accept.slice(-7)).toEqual([1, 1, 0, 0, 0, 0, 0]);
    expect(minutes.counts.reject.at(-1)).toBe(1);
    expect(minutes.totals).toEqual({ accept: 2, tag: 0, quarantine: 1, reject: 1, tempfail: 0 });
    const wide = m.overview(60, 30);
    expect(wide.counts.accept).toHaveLength(2);
    expect(wide.totals.accept).toBe(2);
    // A day later it has all gone.
    now += 25 * 3_600_000;
    m.verdict('tag', []);
    expect(m.overview(1440, 60).totals).toEqual({ accept: 0, tag: 1, quarantine: 0, reject: 0, tempfail: 0 });
  });

  it('counts failed store operations and passes everything else through', async () => {
    const m = new Metrics({ processMetrics: false });
    const failing = async () => { throw new Error('down'); };
    const raw = {
      backend: 'embedded',
      quarantine: { add: failing, get: async () => null, remove: failing, list: failing, olderThan: failing },
      bayes: { counts: failing },
      greylist: { sight: failing },
      ratelimit: { take: failing },
      ping: failing,
      close: async () => {},
    } as unknown as Store;
    const store = m.instrumentStore(raw);
    expect(store.backend).toBe('embedded');
    expect(await store.quarantine.get('X')).toBeNull();
    await expect(store.quarantine.add({} as never)).rejects.toThrow('down');
    await expect(store.ping()).rejects.toThrow('down');
    await expect(store.bayes.counts(new BigInt64Array())).rejects.toThrow('down');
    await expect(store.greylist.sight({} as never, 0, {} as never)).rejects.toThrow('down');
    await expect(store.ratelimit.take('b', 0, {} as never)).rejects.toThrow('down');
    const text = await m.text();
    expect(value(text, 'sluice_store_errors_total{op="greylist.sight"}')).toBe(1);
    expect(value(text, 'sluice_store_errors_total{op="ratelimit.take"}')).toBe(1);
    expect(value(text, 'sluice_store_errors_total{op="quarantine.add"}')).toBe(1);
    expect(value(text, 'sluice_store_errors_total{op="ping"}')).toBe(1);
    expect(value(text, 'sluice_store_errors_total{op="bayes.counts"}')).toBe(1);
    expect(text).not.toContain('op="quarantine.get"');
  });
});
