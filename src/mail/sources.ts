// Reads messages from files, directories (maildirs included) and mbox files, for `check` and `learn`.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

export interface SourceMessage {
  /** The file, with `:N` (1-based) for the Nth message of an mbox. */
  file: string;
  raw: Buffer;
}

/** Told of a path that cannot be read (missing, no permission…), with the reason; reading goes on. */
export type OnUnreadable = (path: string, reason: string) => void;

/** Yields every message under the given paths, in a stable order. Unreadable paths go to `onUnreadable`, or throw. */
export async function* readMessages(paths: readonly string[], onUnreadable?: OnUnreadable): AsyncGenerator<SourceMessage> {
  const unreadable: OnUnreadable = onUnreadable ?? ((path, reason) => { throw new Error(`${path}: ${reason}`); });
  for (const path of paths) yield* readPath(path, unreadable);
}

async function* readPath(path: string, unreadable: OnUnreadable): AsyncGenerator<SourceMessage> {
  if (path === '-') {
    yield* splitSource(path, await readStdin());
    return;
  }
  let raw: Buffer;
  try {
    const info = await stat(path);
    if (info.isDirectory()) {
      const names = (await readdir(path)).filter((n) => !n.startsWith('.')).sort();
      // A maildir keeps its messages in cur/ and new/; tmp/ holds deliveries in progress.
      for (const name of names) {
        if (name === 'tmp' && names.includes('cur') && names.includes('new')) continue;
        yield* readPath(join(path, name), unreadable);
      }
      return;
    }
    if (!info.isFile()) return;
    raw = await readFile(path);
  } catch (err) {
    // "ENOENT: no such file or directory, stat '/x'" → "ENOENT: no such file or directory"
    unreadable(path, (err as Error).message.replace(/, \w+ '.*'$/, ''));
    return;
  }
  yield* splitSource(path, raw);
}

/** `-` names standard input: one message, or an mbox, piped in. */
async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function* splitSource(path: string, raw: Buffer): Generator<SourceMessage> {
  if (!isMbox(raw)) {
    yield { file: path, raw };
    return;
  }
  const messages = splitMbox(raw);
  if (messages.length <= 1) {
    yield { file: path, raw: messages[0] ?? stripFromLine(raw) };
    return;
  }
  for (let i = 0; i < messages.length; i++) yield { file: `${path}:${i + 1}`, raw: messages[i] };
}

/** mbox files start with a `From ` separator line; a single message file never does (headers have a colon). */
export function isMbox(raw: Buffer): boolean {
  return raw.subarray(0, 5).toString('latin1') === 'From ';
}

/** Drops a leading `From ` line, for a single message saved with its envelope line. */
export function stripFromLine(raw: Buffer): Buffer {
  const nl = raw.indexOf(0x0a);
  return isMbox(raw) && nl >= 0 ? raw.subarray(nl + 1) : raw;
}

/** Splits an mboxrd/mboxo file and undoes `>From ` quoting. */
export function splitMbox(raw: Buffer): Buffer[] {
  const text = raw.toString('latin1');
  const out: Buffer[] = [];
  // A real separator is `From <sender> <asctime date>`; prose lines starting with "From " are not.
  const separator = /^From \S+ +(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +\d{1,2} \d{1,2}:\d{2}.*\r?\n/gm;
  const starts: { at: number; body: number }[] = [];
  for (let m = separator.exec(text); m; m = separator.exec(text)) {
    // Only a separator at the start of the file or after a blank line starts a message.
    if (m.index === 0 || text.endsWith('\n\n', m.index) || text.endsWith('\r\n\r\n', m.index)) {
      starts.push({ at: m.index, body: m.index + m[0].length });
    }
  }
  for (let i = 0; i < starts.length; i++) {
    const end = i + 1 < starts.length ? starts[i + 1].at : text.length;
    let message = text.slice(starts[i].body, end);
    if (i + 1 < starts.length) message = message.replace(/\r?\n$/, '');
    message = message.replace(/^>(>*From )/gm, '$1');
    out.push(Buffer.from(message, 'latin1'));
  }
  return out;
}

