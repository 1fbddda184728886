// Types for the two parts of mailauth that src/checks/auth/dkim-verify.ts uses and mailauth ships untyped.
declare module 'mailauth/lib/dkim/dkim-verifier.js' {
  import type { Writable } from 'node:stream';
  import type { DKIMVerifyOptions } from 'mailauth';
  export class DkimVerifier extends Writable {
    constructor(options: DKIMVerifyOptions);
    headerFrom: unknown;
    fromFields: unknown;
    envelopeFrom: unknown;
    results: unknown;
    headers: unknown;
    arc: unknown;
    seal: unknown;
    processChunk(chunk: Buffer): Promise<void>;
    ensureLinebreaks(input: Buffer): Generator<Buffer>;
  }
}

declare module 'mailauth/lib/tools.js' {
  import type { Writable } from 'node:stream';
  /** Writes a Buffer to the stream in 64 kB chunks, one per event-loop turn; resolves when it finished. */
  export function writeToStream(stream: Writable, input: Buffer, chunkSize?: number): Promise<void>;
}
