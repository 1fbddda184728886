// A stub resolver speaking DNS to recursive servers over UDP, falling back to TCP when an answer is truncated.
// Written on the wire format (rather than node:dns) because the cache needs the TTL of every answer type
// and the SOA minimum of negative ones, and each query must be abortable on its own.
import net from 'node:net';
import { getServers } from 'node:dns';
import type { Answer, RecordType } from './types.ts';
import { UdpSockets, type UdpSocketOptions } from './udp.ts';
import { dnsError, type DnsError, type Lookup, type Transport } from './transport.ts';
import { RCODE, TYPE, WireError, bytesToIpv6, decodeMessage, encodeQuery, ipv6ToBytes, type DnsMessage, type ResourceRecord, type Soa } from './wire.ts';

export interface ServerAddress {
  host: string;
  port: number;
}

/** `1.2.3.4`, `1.2.3.4:5353`, `::1`, `[::1]:5353` → host and port. Host names are refused: a resolver needs an address. */
export function parseServer(spec: string): ServerAddress {
  let host = spec;
  let port = 53;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(spec);
  if (bracketed) {
    host = bracketed[1];
    if (bracketed[2]) port = Number(bracketed[2]);
  } else if (net.isIPv4(spec.split(':')[0]) && spec.includes(':')) {
    [host, port] = [spec.split(':')[0], Number(spec.split(':')[1])];
  }
  if (!net.isIP(host)) throw new Error(`DNS server ${JSON.stringify(spec)} is not an IP address`);
  if (!(port > 0 && port < 65536)) throw new Error(`DNS server ${JSON.stringify(spec)} has a bad port`);
  // Canonical IPv6 text, so replies (whose source address the socket reports canonically) are recognised.
  if (net.isIPv6(host)) host = bytesToIpv6(ipv6ToBytes(host));
  return { host, port };
}

/** The servers the operating system uses (resolv.conf), as node:dns reads them. */
export function systemServers(): ServerAddress[] {
  const servers = getServers().map(parseServer);
  return servers.length ? servers : [{ host: '127.0.0.1', port: 53 }];
}

export interface WireClientOptions {
  servers: ServerAddress[];
  /** Total time for one question, over all retries and servers. */
  timeoutMs: number;
  /** How UDP sockets are shared between questions (tests lower the reuse count). */
  udp?: UdpSocketOptions;
}

const RECORD_TYPES: Record<RecordType, number> = { A: TYPE.A, AAAA: TYPE.AAAA, TXT: TYPE.TXT, MX: TYPE.MX, PTR: TYPE.PTR, CNAME: TYPE.CNAME, NS: TYPE.NS };

export class WireClient implements Transport {
  private readonly options: WireClientOptions;
  private readonly sockets: UdpSockets;

  constructor(options: WireClientOptions) {
    if (options.servers.length === 0) throw new Error('no DNS servers');
    this.options = options;
    this.sockets = new UdpSockets(options.udp);
  }

  async query(name: string, type: RecordType, signal?: AbortSignal): Promise<Lookup> {
    const { servers, timeoutMs } = this.options;
    const deadline = Date.now() + timeoutMs;
    // One server: ask it twice (a UDP datagram may be lost); several: each once, in order.
    const attempts = Math.max(2, servers.length);
    let lastError: DnsError = dnsError('ETIMEOUT', type, name);
    for (let i = 0; i < attempts; i++) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) break;
      const server = servers[i % servers.length];
      const slot = i === attempts - 1 ? remaining : Math.min(remaining, timeoutMs / attempts);
      let reply: DnsMessage;
      try {
        reply = await this.exchange(server, name, type, slot, deadline, signal);
      } catch (err) {
        lastError = err as DnsError;
        if (lastError.code === 'ECANCELLED' || lastError.code === 'EBADNAME') throw lastError;
        continue;
      }
      if (reply.rcode === RCODE.SERVFAIL || reply.rcode === RCODE.REFUSED) {
        lastError = dnsError(reply.rcode === RCODE.SERVFAIL ? 'ESERVFAIL' : 'EREFUSED', type, name);
        continue;
      }
      return interpret(reply, name, type);
    }
    throw lastError;
  }

  /** One question to one server: UDP within `slot` ms, then TCP within what is left of the deadline if truncated. */
  private async exchange(server: ServerAddress, name: string, type: RecordType, slot: number, deadline: number, signal?: AbortSignal): Promise<DnsMessage> {
    let packet: Buffer;
    try {
      // The id is chosen by the UDP socket the question goes out on, and written into the packet there.
      packet = encodeQuery(0, name, RECORD_TYPES[type]);
    } catch (err) {
      if (err instanceof WireError) throw dnsError('EBADNAME', type, name);
      throw err;
    }
    const matches = (m: DnsMessage) =>
      m.id === packet.readUInt16BE(0) && m.response && m.questions.length === 1 && m.questions[0].name.toLowerCase() === name && m.questions[0].type === RECORD_TYPES[type];
    const udpReply = await udpExchange(this.sockets, server, packet, matches, slot, signal, type, name);
    if (!udpReply.truncated) return udpReply;
    return tcpExchange(server, packet, matches, Math.max(1, deadline - Date.now()), signal, type, name);
  }
}

function withTimeout<T>(
  type: string,
  name: string,
  ms: number,
  signal: AbortSignal | undefined,
  start: (settle: (err: DnsError | null, value?: T) => void) => () => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal?.aborted) return reject(dnsError('ECANCELLED', type, name));
    let cleanup: () => void = () => {};
    let done = false;
    const settle = (err: DnsError | null, value?: T) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      cleanup();
      if (err) reject(err);
      else resolve(value as T);
    };
    const onAbort = () => settle(dnsError('ECANCELLED', type, name));
    const timer = setTimeout(() => settle(dnsError('ETIMEOUT', type, name)), ms);
    signal?.addEventListener('abort', onAbort, { once: true });
    cleanup = start(settle);
  });
}

function udpExchange(
  sockets: UdpSockets,
  server: ServerAddress,
  packet: Buffer,
  matches: (m: DnsMessage) => boolean,
  ms: number,
  signal: AbortSignal | undefined,
  type: string,
  name: string,
): Promise<DnsMessage> {
  return withTimeout<DnsMessage>(type, name, ms, signal, (settle) => {
    return sockets.ask(
      server,
      packet,
      (reply) => {
        let m: DnsMessage;
        try {
          m = decodeMessage(reply);
        } catch {
          return;
        }
        if (matches(m)) settle(null, m);
      },
      () => settle(dnsError('ECONNREFUSED', type, name)),
    );
  });
}

function tcpExchange(
  server: ServerAddress,
  packet: Buffer,
  matches: (m: DnsMessage) => boolean,
  ms: number,
  signal: AbortSignal | undefined,
  type: string,
  name: string,
): Promise<DnsMessage> {
  return withTimeout<DnsMessage>(type, name, ms, signal, (settle) => {
    const socket = net.connect({ host: server.host, port: server.port });
    let pending = Buffer.alloc(0);
    socket.on('error', () => settle(dnsError('ECONNREFUSED', type, name)));
    socket.on('close', () => settle(dnsError('EBADRESP', type, name)));
    socket.on('connect', () => {
      const head = Buffer.alloc(2);
      head.writeUInt16BE(packet.length);
      socket.write(Buffer.concat([head, packet]));
    });
    socket.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      if (pending.length < 2) return;
      const len = pending.readUInt16BE(0);
      if (pending.length < 2 + len) return;
      try {
        const m = decodeMessage(pending.subarray(2, 2 + len));
        settle(matches(m) ? null : dnsError('EBADRESP', type, name), m);
      } catch {
        settle(dnsError('EBADRESP', type, name));
      }
    });
    return () => socket.destroy();
  });
}

/** Turns a reply into node:dns-shaped records of the asked type, following the CNAME chain in the answer. */
export function interpret(reply: DnsMessage, qname: string, type: RecordType): Lookup {
  const negativeTtl = negativeTtlOf(reply.authorities);
  if (reply.rcode === RCODE.NXDOMAIN) throw dnsError('ENOTFOUND', type, qname, negativeTtl);
  if (reply.rcode !== RCODE.NOERROR) throw dnsError('EBADRESP', type, qname);

  const wanted = RECORD_TYPES[type];
  let current = qname.toLowerCase();
  let ttl = Infinity;
  let records: ResourceRecord[] = [];
  for (let hops = 0; hops < 16; hops++) {
    records = reply.answers.filter((rr) => rr.type === wanted && rr.name.toLowerCase() === current);
    if (records.length || type === 'CNAME') break;
    const alias = reply.answers.find((rr) => rr.type === TYPE.CNAME && rr.name.toLowerCase() === current);
    if (!alias) break;
    ttl = Math.min(ttl, alias.ttl);
    current = String(alias.data).toLowerCase();
  }
  if (records.length === 0) throw dnsError('ENODATA', type, qname, negativeTtl);
  for (const rr of records) ttl = Math.min(ttl, rr.ttl);
  return { answer: shape(records, type), ttl };
}

function shape(records: ResourceRecord[], type: RecordType): Answer {
  switch (type) {
    case 'TXT':
      return records.map((rr) => rr.data as string[]);
    case 'MX':
      return records.map((rr) => {
        const mx = rr.data as { exchange: string; priority: number };
        return { exchange: mx.exchange, priority: mx.priority };
      });
    default:
      return records.map((rr) => String(rr.data));
  }
}

/** RFC 2308: a negative answer is cached for the smaller of the SOA's TTL and its minimum; without an SOA, not at all. */
function negativeTtlOf(authorities: ResourceRecord[]): number | undefined {
  const soa = authorities.find((rr) => rr.type === TYPE.SOA);
  if (!soa) return undefined;
  return Math.min(soa.ttl, (soa.data as Soa).minimum);
}
