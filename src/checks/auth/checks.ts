// The data-stage checks: DKIM (every signature), ARC and DMARC, each reporting its own family's symbols
// from the one shared evaluation, so a failure of one shows up as `<FAMILY>_ERROR` for each.
import type { Check, ScanContext, SymbolHit } from '../../scan/types.ts';
import type { AuthDeps } from './context.ts';
import { evaluateMessage, type MessageAuth } from './message.ts';
import './symbols.ts';

async function evaluation(deps: AuthDeps, ctx: ScanContext): Promise<MessageAuth> {
  if (!ctx.message) throw new Error('no message at the data stage');
  return evaluateMessage(deps, ctx.envelope, ctx.message, ctx.signal);
}

export function dkimCheck(deps: AuthDeps): Check {
  return {
    name: 'dkim',
    family: 'DKIM',
    stage: 'data',
    async run(ctx) {
      const { dkim } = await evaluation(deps, ctx);
      if (dkim.length === 0) {
        ctx.authResults.push('dkim=none');
        return [{ name: 'DKIM_NONE' }];
      }
      const hits: SymbolHit[] = [];
      for (const sig of dkim) {
        ctx.authResults.push(sig.authResult);
        hits.push({ name: `DKIM_${sig.result.toUpperCase()}`, detail: sig.domain || undefined });
        if (sig.result === 'permerror' || sig.result === 'temperror') {
          ctx.log.info({ domain: sig.domain, selector: sig.selector, result: sig.authResult }, `DKIM ${sig.result}`);
        }
      }
      return hits;
    },
  };
}

export function arcCheck(deps: AuthDeps): Check {
  return {
    name: 'arc',
    family: 'ARC',
    stage: 'data',
    async run(ctx) {
      const { arc } = await evaluation(deps, ctx);
      ctx.authResults.push(arc.authResult);
      return [{ name: `ARC_${arc.result.toUpperCase()}`, detail: arc.sealer }];
    },
  };
}

export function dmarcCheck(deps: AuthDeps): Check {
  return {
    name: 'dmarc',
    family: 'DMARC',
    stage: 'data',
    async run(ctx) {
      const { dmarc } = await evaluation(deps, ctx);
      ctx.authResults.push(dmarc.authResult);
      if (dmarc.result === 'permerror' || dmarc.result === 'temperror') {
        ctx.log.info({ domain: dmarc.domain, result: dmarc.authResult }, `DMARC ${dmarc.result}`);
      }
      const hits: SymbolHit[] = [{ name: `DMARC_${dmarc.result.toUpperCase()}`, detail: dmarc.domain }];
      if (dmarc.arcOverride) {
        hits.push({ name: 'DMARC_ARC_OVERRIDE', detail: `${dmarc.domain} via ${dmarc.arcOverride}` });
        ctx.log.info({ domain: dmarc.domain, sealer: dmarc.arcOverride }, 'DMARC policy not applied: trusted ARC sealer vouched');
      } else if (dmarc.policy === 'reject') {
        hits.push({ name: 'DMARC_POLICY_REJECT', detail: dmarc.domain });
      } else if (dmarc.policy === 'quarantine') {
        hits.push({ name: 'DMARC_POLICY_QUARANTINE', detail: dmarc.domain });
      }
      return hits;
    },
  };
}
