/**
 * A real DNS server on 127.0.0.1 (UDP and TCP on the same free port) that answers from zone literals.
 *
 *   const dns = await startDnsServer({
 *     zone: {
 *       'example.com': { A: ['192.0.2.1'], TXT: ['v=spf1 ip4:127.0.0.1 -all'], MX: [{ exchange: 'mx.example.com', priority: 10 }] },
 *       'sel._domainkey.example.com': { TXT: [['v=DKIM1; k=rsa; p=MIIB…', '…second string']] },  // one record, two strings
 *       '2.0.0.127.zen.example': { A: ['127.0.0.2'] },
 *       '*.wild.example': { A: ['127.0.0.3'] },            // wildcard: any name below wild.example
 *       'www.example.com': { CNAME: 'example.com' },      // followed inside the zone for other types
 *       'slow.example.com': { timeout: true },            // never answered (a resolver times out)
 *       'broken.example.com': { servfail: true },         // SERVFAIL
 *     },
 *     ttl: 300,          // default TTL of answers (per name: `ttl` in the record set)
 *   });
 *   config.dns.servers = [dns.address];   // "127.0.0.1:PORT"
 *   dns.queries                           // every question received: { name, type, transport }
 *   dns.setZone({...}); dns.set('x.example', { A: [...] });   // change data while running
 *   dns.behaviour.delayMs = 500;          // delay every answer
 *   dns.behaviour.drop = true;            // answer nothing at all: DNS is down
 *   dns.behaviour.servfail = true;        // SERVFAIL everything
 *   await dns.stop();
 *
 * Semantics: names are case-insensitive, a trailing dot is ignored. A name not in the zone (and not
 * the parent of one) is NXDOMAIN; a name present without the asked type is NODATA. Negative answers
 * carry an SOA whose minimum is the negative TTL (`negativeTtl`, default 60). A TXT string longer
 * than 255 bytes is sent as several character-strings. A UDP answer larger than the client's
 * advertised size (512 without EDNS, or `udpMaxSize`) is truncated with TC set, so clients retry over TCP.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { RCODE, TYPE, decodeMessage, encodeMessage, typeName, type DnsMessage, type ResourceRecord } from '../../src/dns/wire.ts';
import { matchName, normalizeName as norm, zoneMap, type RecordSet, type Zone } from '../../src/dns/zone.ts';

export type { RecordSet, Zone };

export interface DnsServerOptions {
  zone?: Zone;
  ttl?: number;
  negativeTtl?: number;
  /** Cap on UDP answers regardless of EDNS, to exercise TCP fallback. */
  udpMaxSize?: number;
}

export interface Behaviour {
  delayMs: number;
  drop: boolean;
  servfail: boolean;
}

export interface QueryLog {
  name: string;
  type: string;
  transport: 'udp' | 'tcp';
  /** The asking client's source port. */
  clientPort: number;
}

export interface DnsTestServer {
  host: string;
  port: number;
  /** `127.0.0.1:PORT`, the form `dns.servers` takes. */
  address: string;
  queries: QueryLog[];
  behaviour: Behaviour;
  setZone(zone: Zone): void;
  set(name: string, records: RecordSet | undefined): void;
  stop(): Promise<void>;
}

export async function startDnsServer(options: DnsServerOptions = {}): Promise<DnsTestServer> {
  const defaultTtl = options.ttl ?? 300;
  const negativeTtl = options.negativeTtl ?? 60;
  let zone = new Map<string, RecordSet>();
  const setZone = (z: Zone) => {
    zone = zoneMap(z);
  };
  setZone(options.zone ?? {});
  const behaviour: Behaviour = { delayMs: 0, drop: false, servfail: false };
  const queries: QueryLog[] = [];

  function soaFor(name: string): ResourceRecord {
    const apex = name.split('.').slice(-2).join('.') || '.';
    return {
      name: apex,
      type: TYPE.SOA,
      ttl: negativeTtl,
      data: { mname: 'ns.' + apex, rname: 'hostmaster.' + apex, serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: negativeTtl },
    };
  }

  /** Returns null when the query must go unanswered. */
  function answer(query: DnsMessage): DnsMessage | null {
    const reply: DnsMessage = {
      id: query.id,
      response: true,
      opcode: query.opcode,
      authoritative: true,
      truncated: false,
      recursionDesired: query.recursionDesired,
      recursionAvailable: true,
      rcode: RCODE.NOERROR,
      questions: query.questions,
      answers: [],
      authorities: [],
      additionals: [],
      udpPayloadSize: query.udpPayloadSize ? 1232 : undefined,
    };
    const q = query.questions[0];
    if (!q || query.opcode !== 0) return { ...reply, rcode: RCODE.NOTIMP };
    if (behaviour.servfail) return { ...reply, rcode: RCODE.SERVFAIL };

    let name = norm(q.name);
    for (let hops = 0; hops < 8; hops++) {
      const { set, exists } = matchName(zone, name);
      if (set?.timeout) return null;
      if (set?.servfail) return { ...reply, rcode: RCODE.SERVFAIL };
      if (!exists) {
        // At the end of a CNAME chain the answer so far stands (as the zone transport treats it: NODATA).
        reply.rcode = hops === 0 ? RCODE.NXDOMAIN : RCODE.NOERROR;
        reply.authorities.push(soaFor(name));
        return reply;
      }
      const ttl = set?.ttl ?? defaultTtl;
      if (set?.CNAME && q.type !== TYPE.CNAME) {
        reply.answers.push({ name, type: TYPE.CNAME, ttl, data: norm(set.CNAME) });
        name = norm(set.CNAME);
        continue;
      }
      const key = typeName(q.type) as keyof RecordSet;
      const values = key === 'CNAME' ? (set?.CNAME ? [set.CNAME] : []) : ((set?.[key] as unknown[] | undefined) ?? []);
      for (const data of values) reply.answers.push({ name, type: q.type, ttl, data: data as ResourceRecord['data'] });
      if (values.length === 0) reply.authorities.push(soaFor(name));
      return reply;
    }
    return { ...reply, rcode: RCODE.SERVFAIL };
  }

  function respond(packet: Buffer, transport: 'udp' | 'tcp', clientPort: number, send: (b: Buffer) => void): void {
    let query: DnsMessage;
    try {
      query = decodeMessage(packet);
    } catch {
      return;
    }
    for (const q of query.questions) queries.push({ name: norm(q.name), type: typeName(q.type), transport, clientPort });
    if (behaviour.drop) return;
    const reply = answer(query);
    if (!reply) return;
    let wire = encodeMessage(reply);
    if (transport === 'udp') {
      const limit = Math.min(query.udpPayloadSize ?? 512, options.udpMaxSize ?? Infinity);
      if (wire.length > limit) wire = encodeMessage({ ...reply, truncated: true, answers: [], authorities: [] });
    }
    const out = wire;
    if (behaviour.delayMs > 0) setTimeout(() => send(out), behaviour.delayMs).unref();
    else send(out);
  }

  const udp = dgram.createSocket('udp4');
  const tcpSockets = new Set<net.Socket>();
  const tcp = net.createServer((socket) => {
    tcpSockets.add(socket);
    socket.on('close', () => tcpSockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2) {
        const len = pending.readUInt16BE(0);
        if (pending.length < 2 + len) break;
        const packet = pending.subarray(2, 2 + len);
        pending = pending.subarray(2 + len);
        respond(packet, 'tcp', socket.remotePort ?? 0, (b) => {
          if (socket.destroyed) return;
          const head = Buffer.alloc(2);
          head.writeUInt16BE(b.length);
          socket.write(Buffer.concat([head, b]));
        });
      }
    });
  });
  udp.on('message', (msg, rinfo) => respond(msg, 'udp', rinfo.port, (b) => udp.send(b, rinfo.port, rinfo.address)));

  // UDP picks a free port; TCP must get the same number. On the rare collision, start over.
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(0, '127.0.0.1', () => {
      udp.off('error', reject);
      resolve();
    });
  });
  const port = udp.address().port;
  const listening = await new Promise<boolean>((resolve) => {
    tcp.once('error', () => resolve(false));
    tcp.listen(port, '127.0.0.1', () => resolve(true));
  });
  if (!listening) {
    await new Promise<void>((resolve) => udp.close(() => resolve()));
    if ((options as { attempt?: number }).attempt === 10) throw new Error('no free port for the DNS server');
    return startDnsServer({ ...options, attempt: ((options as { attempt?: number }).attempt ?? 0) + 1 } as DnsServerOptions);
  }

  return {
    host: '127.0.0.1',
    port,
    address: `127.0.0.1:${port}`,
    queries,
    behaviour,
    setZone,
    set(name, records) {
      if (records) zone.set(norm(name), records);
      else zone.delete(norm(name));
    },
    async stop() {
      for (const s of tcpSockets) s.destroy();
      await Promise.all([
        new Promise<void>((resolve) => udp.close(() => resolve())),
        new Promise<void>((resolve) => tcp.close(() => resolve())),
      ]);
    },
  };
}
