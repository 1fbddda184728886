// The one DNS path of the gateway. Authentication, blocklists and reverse lookups all resolve through it,
// so caching, time limits and per-message budgets apply everywhere.

export type RecordType = 'A' | 'AAAA' | 'TXT' | 'MX' | 'PTR' | 'CNAME' | 'NS';

/** Answers in the shapes of node:dns `resolve*`: A/AAAA/PTR/CNAME/NS → string[], TXT → string[][], MX → {exchange, priority}[]. */
export type Answer = string[] | string[][] | { exchange: string; priority: number }[];

/**
 * Errors carry node:dns codes: ENOTFOUND (NXDOMAIN) and ENODATA are negative answers;
 * ETIMEOUT, ESERVFAIL, ECONNREFUSED and EBUDGET (the per-message budget is spent) are temporary failures.
 */
export interface DnsResolver {
  resolve(name: string, type: RecordType, options?: { signal?: AbortSignal }): Promise<Answer>;
}

export function isNegativeDnsError(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code === 'ENOTFOUND' || code === 'ENODATA';
}

/** The gateway's shared resolver: besides resolving, it hands out per-message budgeted views. */
export interface DnsLayer extends DnsResolver {
  /** A view that fails with EBUDGET once `limit` lookups were made through it. */
  withBudget(limit: number): BudgetedResolver;
}

export interface BudgetedResolver extends DnsResolver {
  readonly used: number;
  readonly limit: number;
}
