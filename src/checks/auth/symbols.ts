// The authentication symbols and their default weights. Positive is spammy: a pass earns a little
// trust, a fail costs, and operational trouble (TEMPERROR, budget, timeouts) costs nothing.
import { defineSymbols } from '../../scan/symbols.ts';

defineSymbols({
  SPF_PASS: { weight: -0.5, description: 'SPF: the client may send for the envelope sender domain' },
  SPF_FAIL: { weight: 2.0, description: 'SPF: the sender domain says this client may not send for it (-all)' },
  SPF_SOFTFAIL: { weight: 1.0, description: 'SPF: the sender domain says this client is probably not allowed (~all)' },
  SPF_NEUTRAL: { weight: 0, description: 'SPF: the sender domain makes no assertion about this client (?all)' },
  SPF_NONE: { weight: 0.3, description: 'SPF: the sender domain publishes no SPF record' },
  SPF_TEMPERROR: { weight: 0, description: 'SPF: a DNS error prevented evaluation' },
  SPF_PERMERROR: { weight: 0.5, description: 'SPF: the record of the sender domain is broken' },
  SPF_ERROR: { weight: 0, description: 'SPF: the check failed or timed out' },

  DKIM_PASS: { weight: -0.5, description: 'DKIM: a signature verified' },
  DKIM_FAIL: { weight: 1.5, description: 'DKIM: a signature did not verify (altered message, or a key too weak)' },
  DKIM_NONE: { weight: 0, description: 'DKIM: the message is not signed' },
  DKIM_TEMPERROR: { weight: 0, description: 'DKIM: a key could not be fetched (DNS trouble)' },
  DKIM_PERMERROR: { weight: 0.5, description: 'DKIM: a signature or its key is malformed or missing' },
  DKIM_ERROR: { weight: 0, description: 'DKIM: the check failed or timed out' },

  DMARC_PASS: { weight: -1.0, description: 'DMARC: SPF or DKIM passed aligned with the From domain' },
  DMARC_FAIL: { weight: 2.0, description: 'DMARC: neither SPF nor DKIM passed aligned with the From domain' },
  DMARC_NONE: { weight: 0, description: 'DMARC: the From domain publishes no DMARC policy' },
  DMARC_TEMPERROR: { weight: 0, description: 'DMARC: a DNS error prevented evaluation' },
  DMARC_PERMERROR: { weight: 1.0, description: 'DMARC: no single From domain to evaluate (missing or several)' },
  DMARC_POLICY_REJECT: { weight: 4.0, description: 'DMARC failed and the From domain asks receivers to reject (p=reject)' },
  DMARC_POLICY_QUARANTINE: { weight: 2.0, description: 'DMARC failed and the From domain asks receivers to quarantine (p=quarantine)' },
  DMARC_ARC_OVERRIDE: { weight: 0, description: 'DMARC failed but a trusted forwarder vouched with a valid ARC chain: policy not applied' },
  DMARC_ERROR: { weight: 0, description: 'DMARC: the check failed or timed out' },

  ARC_PASS: { weight: 0, description: 'ARC: the chain of forwarders validates' },
  ARC_FAIL: { weight: 0.5, description: 'ARC: the chain of forwarders is broken' },
  ARC_NONE: { weight: 0, description: 'ARC: no chain' },
  ARC_ERROR: { weight: 0, description: 'ARC: the check failed or timed out' },
});
