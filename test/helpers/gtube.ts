// The GTUBE test patterns as their publishers give them (test/fixtures/gtube: SpamAssassin's rule and
// Rspamd's documentation table), so tests never take the string from Sluice's own constant.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const fixture = (name: string) => readFileSync(fileURLToPath(new URL(`../fixtures/gtube/${name}`, import.meta.url)), 'utf8');

/** The string SpamAssassin's `body GTUBE /…/` rule matches: its regular expression with the escapes taken out. */
export const GTUBE = (() => {
  const rule = /^body\s+GTUBE\s+\/(.+)\/\s*$/m.exec(fixture('spamassassin.cf'));
  if (!rule) throw new Error('test/fixtures/gtube/spamassassin.cf has no `body GTUBE /…/` rule');
  return rule[1].replace(/\\(.)/g, '$1');
})();

/** Rspamd's table: pattern → the action Rspamd documents for it ('reject', 'add header', 'rewrite subject', 'no action'). */
export const RSPAMD_TEST_PATTERNS: ReadonlyMap<string, string> = new Map(
  [...fixture('rspamd-test-patterns.md').matchAll(/^\|`([^`]+)`\|`([^`]+)`\|/gm)].map((row) => [row[1], row[2]]),
);
