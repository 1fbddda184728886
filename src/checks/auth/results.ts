// RFC 8601 method results (`dkim=pass header.d=example.com …`) built from what mailauth found.
// Values come from the message, so anything that is not a plain token is quoted.

const TOKEN = /^[A-Za-z0-9!#$%&'*+\-.^_`{|}~@/=]+$/;

/** A property value: a token as is, anything else as a quoted-string without control characters. */
export function propertyValue(value: string): string {
  if (TOKEN.test(value)) return value;
  return '"' + value.replace(/[\x00-\x1f\x7f]/g, ' ').replace(/["\\]/g, (c) => '\\' + c) + '"';
}

/** A comment: parentheses and control characters that could end it early are replaced. */
export function comment(text: string | undefined): string {
  if (!text) return '';
  const clean = text.replace(/[\x00-\x1f\x7f()\\]/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 200);
  return clean ? ` (${clean})` : '';
}

export function methodResult(method: string, result: string, note: string | undefined, props: Record<string, string | undefined>): string {
  let out = `${method}=${result}${comment(note)}`;
  for (const [key, value] of Object.entries(props)) if (value) out += ` ${key}=${propertyValue(value)}`;
  return out;
}

/** mailauth's own `info` lines are well formed, but they are single lines from message data: strip line breaks. */
export function oneLine(info: string): string {
  return info.replace(/[\r\n]+\s*/g, ' ').trim();
}
