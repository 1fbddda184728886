// The walker against mailparser, the reference it follows: both read a message into the fields
// the content checks use, in one comparable shape.
import { simpleParser, type AddressObject } from 'mailparser';
import { MimeLimitError, readMail, type Mailbox } from '../../src/mail/mime.ts';

export interface View {
  error?: string;
  subject?: string;
  from?: { name: string; address?: string }[];
  to?: { name: string; address?: string }[];
  text?: string;
  html?: string;
  attachments?: { filename?: string; contentType: string; size: number }[];
}

// The options of the scan path before the walker: no text/HTML conversions, no inlined images.
const OPTIONS = { skipImageLinks: true, skipTextToHtml: true, skipTextLinks: true, skipHtmlToText: true } as const;

const boxes = (list: readonly { name?: string; address?: string; group?: unknown }[]) =>
  list.map((b) => ({ name: b.name ?? '', ...(b.address !== undefined ? { address: b.address } : {}) }));

export async function referenceView(raw: Buffer): Promise<View> {
  try {
    const m = await simpleParser(raw, OPTIONS);
    const to = m.to === undefined ? undefined : (Array.isArray(m.to) ? m.to : [m.to]).flatMap((a: AddressObject) => a.value);
    return {
      subject: m.subject,
      from: m.from ? boxes(m.from.value) : undefined,
      to: to ? boxes(to) : undefined,
      text: m.text,
      html: m.html || undefined,
      attachments: m.attachments.map((a) => ({ ...(a.filename ? { filename: a.filename } : {}), contentType: a.contentType, size: a.size })),
    };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

export function walkerView(raw: Buffer): View {
  try {
    const m = readMail(raw);
    return {
      subject: m.subject,
      from: m.from ? boxes(m.from as Mailbox[]) : undefined,
      to: m.to ? boxes(m.to) : undefined,
      text: m.text,
      html: m.html,
      attachments: m.attachments,
    };
  } catch (err) {
    if (!(err instanceof MimeLimitError)) throw err;
    return { error: err.message };
  }
}
