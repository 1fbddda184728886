// One DNS budget per message, shared by every check that resolves for it (SPF at MAIL FROM, then DKIM,
// DMARC, ARC and blocklists), so a crafted message cannot make the gateway send unbounded queries.
import type { Envelope } from '../scan/types.ts';
import type { BudgetedResolver, DnsLayer } from './types.ts';

const budgets = new WeakMap<Envelope, BudgetedResolver>();

/** The budgeted resolver of the transaction whose envelope this is; created on first use. */
export function messageResolver(dns: DnsLayer, envelope: Envelope, limit: number): BudgetedResolver {
  let budget = budgets.get(envelope);
  if (!budget) {
    budget = dns.withBudget(limit);
    budgets.set(envelope, budget);
  }
  return budget;
}
