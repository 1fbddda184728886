// GTUBE: the standard test string operators send to see that filtering works end to end, and Rspamd's
// GTUBE-like test patterns, which ask for a milder action (tag, or none at all).
import type { Action, Check, MessageContent, SymbolHit } from '../scan/types.ts';
import { defineSymbols } from '../scan/symbols.ts';

defineSymbols({
  GTUBE: { weight: 1000, description: 'The GTUBE anti-spam test string is in the message' },
  GTUBE_TAG: { weight: 0, description: 'Test pattern YJS… (checks.testPatterns): the message is tagged' },
  GTUBE_REWRITE_SUBJECT: { weight: 0, description: 'Test pattern ZJS… (checks.testPatterns): tagged, as Sluice does not rewrite subjects' },
  GTUBE_NO_ACTION: { weight: 0, description: 'Test pattern AJS… (checks.testPatterns): accepted whatever the score' },
});

// Every pattern is one letter and this tail; the standard GTUBE starts with X.
const TAIL = 'JS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X';
const TAIL_BYTES = Buffer.from(TAIL);

/** The first letter of each pattern → its symbol. Only X is matched unless test patterns are enabled. */
const PATTERNS: Readonly<Record<string, string>> = { X: 'GTUBE', Y: 'GTUBE_TAG', Z: 'GTUBE_REWRITE_SUBJECT', A: 'GTUBE_NO_ACTION' };

/**
 * The actions the test patterns stand for, as force rules for the scorer. Off by default: anyone who knows
 * the AJS… pattern could otherwise send spam past the filter (Rspamd disables them by default for that reason).
 */
export function gtubeForceRules(config: { checks: { testPatterns: boolean } }): Record<string, Action> {
  if (!config.checks.testPatterns) return {};
  return { GTUBE_TAG: 'tag', GTUBE_REWRITE_SUBJECT: 'tag', GTUBE_NO_ACTION: 'accept' };
}

/** Looks in the raw bytes (so a message that does not parse is still caught) and in the decoded text and HTML. */
export function gtubeCheck(options: { testPatterns: boolean } = { testPatterns: false }): Check {
  const letters = options.testPatterns ? Object.keys(PATTERNS) : ['X'];
  return {
    name: 'gtube',
    family: 'GTUBE',
    stage: 'data',
    async run(ctx) {
      const m = ctx.message;
      if (!m) return [];
      const found = new Set<string>();
      collect(m.raw, letters, found);
      for (const text of decodedTexts(m)) collect(text, letters, found);
      return [...found].map((letter): SymbolHit => ({ name: PATTERNS[letter] }));
    },
  };
}

function decodedTexts(m: MessageContent): string[] {
  const texts: string[] = [];
  if (m.parsed?.text) texts.push(m.parsed.text);
  if (m.parsed?.html) texts.push(String(m.parsed.html));
  return texts;
}

/** Adds the letter before each occurrence of the tail, when it is one of `letters`. */
function collect(haystack: Buffer | string, letters: readonly string[], found: Set<string>): void {
  const find = typeof haystack === 'string' ? (from: number) => haystack.indexOf(TAIL, from) : (from: number) => haystack.indexOf(TAIL_BYTES, from);
  for (let at = find(1); at > 0; at = find(at + 1)) {
    const before = typeof haystack === 'string' ? haystack[at - 1] : String.fromCharCode(haystack[at - 1]);
    if (letters.includes(before)) found.add(before);
  }
}
