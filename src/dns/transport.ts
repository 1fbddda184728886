// What the caching resolver needs from whatever answers questions: the wire client, or a zone literal in tests.
import type { Answer, RecordType } from './types.ts';

export interface Lookup {
  answer: Answer;
  /** Seconds the answer may be cached (the smallest TTL on the CNAME chain). */
  ttl: number;
}

export interface Transport {
  /** Resolves or throws a DnsError; negative answers carry their cacheable TTL. */
  query(name: string, type: RecordType, signal?: AbortSignal): Promise<Lookup>;
}

export type DnsErrorCode =
  | 'ENOTFOUND'
  | 'ENODATA'
  | 'ETIMEOUT'
  | 'ESERVFAIL'
  | 'EREFUSED'
  | 'ECONNREFUSED'
  | 'EBADRESP'
  | 'EBADNAME'
  | 'ECANCELLED'
  | 'EBUDGET';

export interface DnsError extends Error {
  code: DnsErrorCode;
  hostname: string;
  syscall: string;
  /** For negative answers: how long they may be cached (from the SOA); absent means not at all. */
  ttl?: number;
}

/** Errors shaped like node:dns ones (`queryTxt ENOTFOUND example.com`), which mailauth understands. */
export function dnsError(code: DnsErrorCode, type: string, hostname: string, ttl?: number): DnsError {
  const syscall = `query${type.charAt(0)}${type.slice(1).toLowerCase()}`;
  // Negative answers are everyday results (a client not listed), not bugs: skip the costly stack trace.
  const stackLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  const err = new Error(`${syscall} ${code} ${hostname}`) as DnsError;
  Error.stackTraceLimit = stackLimit;
  err.code = code;
  err.hostname = hostname;
  err.syscall = syscall;
  if (ttl !== undefined) err.ttl = ttl;
  return err;
}
