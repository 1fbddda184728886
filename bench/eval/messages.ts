// What both classifiers of the eval are given: the corpus message without the marks earlier filters
// left on it, and, for the body-only view, with its header cut down to what reading the body needs.

/** Header fields (each with its continuation lines and line ends) and the rest, from the empty line on. */
function splitFields(raw: Buffer): { fields: string[]; rest: string } {
  const text = raw.toString('latin1');
  const end = /\r?\n\r?\n/.exec(text);
  const headerEnd = end ? end.index + end[0].indexOf('\n') + 1 : text.length;
  const fields: string[] = [];
  for (const line of text.slice(0, headerEnd).split(/(?<=\n)/)) {
    if (/^[ \t]/.test(line) && fields.length) fields[fields.length - 1] += line;
    else if (line) fields.push(line);
  }
  return { fields, rest: text.slice(headerEnd) };
}

function nameOf(field: string): string {
  return field.slice(0, Math.max(0, field.indexOf(':'))).trim().toLowerCase();
}

// Earlier filters' verdicts: X-Spam-Status, X-Spam-Level, X-Spam-Flag, X-SpamCop-…, X-Spam:, and the
// subject tags SpamAssassin adds ("*****SPAM*****", or "[SPAM]" as often configured).
const MARKER_FIELD = /^x-spam/;
const SUBJECT_TAG = /(?:\[SPAM\]|\*{5}SPAM\*{5})[ \t]*/gi;

/** The message without earlier filters' X-Spam* fields and [SPAM] / *****SPAM***** subject tags. */
export function stripMarkers(raw: Buffer): Buffer {
  const { fields, rest } = splitFields(raw);
  const kept = fields
    .filter((f) => !MARKER_FIELD.test(nameOf(f)))
    .map((f) => (nameOf(f) === 'subject' ? f.replace(SUBJECT_TAG, '') : f));
  return Buffer.from(kept.join('') + rest, 'latin1');
}

/** The header fields the body-only view keeps: the subject, and what it takes to decode the body. */
export const BODY_ONLY_FIELDS = ['subject', 'mime-version', 'content-type', 'content-transfer-encoding'];

/** The message with only the BODY_ONLY_FIELDS of its header, the body as it was. */
export function bodyOnly(raw: Buffer): Buffer {
  const { fields, rest } = splitFields(raw);
  return Buffer.from(fields.filter((f) => BODY_ONLY_FIELDS.includes(nameOf(f))).join('') + rest, 'latin1');
}
