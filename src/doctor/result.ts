// What one doctor check found: ok, warn or fail, what it saw, and for warn and fail the fix.

export type Status = 'ok' | 'warn' | 'fail';

export interface CheckResult {
  name: string;
  status: Status;
  /** What the check saw. */
  detail: string;
  /** For warn and fail: what to do, in one sentence. */
  fix?: string;
  /** Each problem of an invalid config, as `sluice config check` lists them. */
  problems?: string[];
}

export const ok = (name: string, detail: string): CheckResult => ({ name, status: 'ok', detail });
export const warn = (name: string, detail: string, fix: string): CheckResult => ({ name, status: 'warn', detail, fix });
export const fail = (name: string, detail: string, fix: string): CheckResult => ({ name, status: 'fail', detail, fix });

/** The time limit of each network step, whatever the config allows the gateway: doctor never hangs. */
export const NETWORK_LIMIT_MS = 3000;

/** node:dns-style error codes (ECONNREFUSED, ETIMEOUT, …) say more than their messages. */
export function reasonOf(err: unknown): string {
  const e = err as { code?: string; message?: string } | null;
  return e?.code ?? e?.message ?? String(err);
}

/** One line per check: status, name, what it saw, and the fix. */
export function formatText(results: readonly CheckResult[]): string {
  const width = Math.max(...results.map((r) => r.name.length));
  const lines: string[] = [];
  for (const r of results) {
    lines.push(`${r.status.padEnd(4)}  ${r.name.padEnd(width)}  ${r.detail}${r.fix ? `; fix: ${r.fix}` : ''}`);
    for (const problem of r.problems ?? []) lines.push(`  - ${problem}`);
  }
  return lines.join('\n') + '\n';
}

/** One JSON document for scripts. */
export function formatJson(results: readonly CheckResult[]): string {
  return JSON.stringify({ ok: results.every((r) => r.status !== 'fail'), checks: results }) + '\n';
}
