// Conformance cases Sluice does not pass, each with the reason. They stay in the suites, run as `it.fails`,
// so a change in behaviour shows up as a test to update. None of them is a crash or an unbounded lookup.

/** suite → test id → reason. */
export const SPF_KNOWN_FAILURES: Record<string, Record<string, string>> = {
  'spf-openspf/pyspf': {
    'default-modifier': 'pyspf-only "default=" modifier of its lax mode, not part of RFC 7208 (unknown modifiers are ignored)',
    'default-modifier-harsh': 'pyspf-only "ambiguous" result of its harsh mode, not an RFC 7208 result',
  },
  'spf-stalwart': {
    'all.yml#1.1 sender@test.org from 10.0.0.1':
      'the record has an unknown mechanism "ip:" after "all"; RFC 7208 4.6 (and openspf) make any syntax error a permerror, Stalwart ignores terms after "all"',
    'basic.yml#3.1 sender@_dns_error.org from 172.168.0.1':
      'mailauth rejects a sender domain beginning with "_" as malformed (result none) before the lookup whose SERVFAIL the case tests',
    'basic.yml#5.1 sender@ok.test.org from 172.168.0.1':
      'ten "a:" terms naming domains that do not exist: RFC 7208 4.6.4 limits void lookups to two (permerror, as openspf tests); Stalwart does not count void lookups',
    'basic.yml#7.1 sender@test.org from 172.168.0.1':
      'expects the HELO identity to be checked first; Sluice checks the MAIL FROM identity (the one DMARC uses) and the HELO identity only for the null sender',
    'exists.yml#1.1 sender@ip6.test.org from 167.1.2.3':
      '"exists:" on a name with only AAAA records: RFC 7208 5.7 says exists uses an A query even for IPv6 clients, so no match (fail)',
    'ip.yml#2.1 sender@test.org from 10.1.2.3':
      'an IPv4 client matched against "ip6:::ffff:10.1.2.3": RFC 7208 5.6 applies ip6 to IPv6 clients only (mailauth never maps IPv6 terms to IPv4)',
    'macro.yml#2.1 strong-bad@email.example.com from 2001:db8::cb01':
      '"exists:" on a name with only an AAAA record for an IPv6 client: RFC 7208 5.7 uses an A query, so no match (fail)',
  },
};

export const DKIM_KNOWN_FAILURES: Record<string, string> = {};

const LENIENT_TAGS =
  'Sluice verifies DKIM and ARC in mailauth\'s lenient mode on purpose (sloppy but cryptographically valid real-world signatures must not fail DMARC); it accepts this ARC-Seal tag-list syntax error, which the suite wants to fail the chain (mailauth\'s strict mode passes it)';

export const ARC_KNOWN_FAILURES: Record<string, string> = {
  as_format_inv_tag_key: LENIENT_TAGS,
  as_format_tags_dup: LENIENT_TAGS,
  as_format_tags_key_case: LENIENT_TAGS,
  as_format_tags_sc: LENIENT_TAGS,
  ams_fields_h_empty:
    'mailauth fails an ARC-Message-Signature with an empty h= list, which the suite (draft 18) expects to pass; library behaviour in both modes',
};
