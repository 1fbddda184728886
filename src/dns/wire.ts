// DNS wire format (RFC 1035) for the record types the gateway uses: encode and decode whole messages.
// Shared by our UDP/TCP client and by the loopback test server, so both speak exactly the same dialect.

export const TYPE = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, TXT: 16, AAAA: 28, OPT: 41, SPF: 99, ANY: 255 } as const;
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
const CLASS_IN = 1;

const TYPE_NAMES = new Map<number, string>(Object.entries(TYPE).map(([k, v]) => [v, k]));
export function typeName(code: number): string {
  return TYPE_NAMES.get(code) ?? `TYPE${code}`;
}

export interface Soa {
  mname: string;
  rname: string;
  serial: number;
  refresh: number;
  retry: number;
  expire: number;
  minimum: number;
}

/** Record data by type: names and addresses as strings, TXT as its character-strings, MX and SOA as objects. */
export type RData = string | string[] | { exchange: string; priority: number } | Soa | Buffer;

export interface ResourceRecord {
  name: string;
  type: number;
  ttl: number;
  data: RData;
}

export interface Question {
  name: string;
  type: number;
}

export interface DnsMessage {
  id: number;
  /** Response (QR) bit. */
  response: boolean;
  opcode: number;
  authoritative: boolean;
  truncated: boolean;
  recursionDesired: boolean;
  recursionAvailable: boolean;
  rcode: number;
  questions: Question[];
  answers: ResourceRecord[];
  authorities: ResourceRecord[];
  additionals: ResourceRecord[];
  /** Largest UDP payload the sender accepts (EDNS0 OPT); absent without EDNS. */
  udpPayloadSize?: number;
}

export class WireError extends Error {}

// ---------------------------------------------------------------- encoding

class Writer {
  private chunks: Buffer[] = [];
  length = 0;

  bytes(b: Buffer): void {
    this.chunks.push(b);
    this.length += b.length;
  }
  u8(n: number): void {
    this.bytes(Buffer.of(n & 0xff));
  }
  u16(n: number): void {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(n & 0xffff);
    this.bytes(b);
  }
  u32(n: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n >>> 0);
    this.bytes(b);
  }
  /** Names are written uncompressed: simpler, and our messages are small. */
  name(name: string): void {
    const trimmed = name.replace(/\.$/, '');
    if (trimmed) {
      for (const label of trimmed.split('.')) {
        const b = Buffer.from(label, 'utf8');
        if (b.length === 0 || b.length > 63) throw new WireError(`bad label in ${JSON.stringify(name)}`);
        this.u8(b.length);
        this.bytes(b);
      }
    }
    this.u8(0);
  }
  done(): Buffer {
    return Buffer.concat(this.chunks, this.length);
  }
}

function encodeRData(rr: ResourceRecord): Buffer {
  const w = new Writer();
  const d = rr.data;
  switch (rr.type) {
    case TYPE.A: {
      const parts = String(d).split('.').map(Number);
      if (parts.length !== 4 || parts.some((p) => !(p >= 0 && p <= 255))) throw new WireError(`bad A ${String(d)}`);
      for (const p of parts) w.u8(p);
      break;
    }
    case TYPE.AAAA:
      w.bytes(ipv6ToBytes(String(d)));
      break;
    case TYPE.NS:
    case TYPE.CNAME:
    case TYPE.PTR:
      w.name(String(d));
      break;
    case TYPE.MX: {
      const mx = d as { exchange: string; priority: number };
      w.u16(mx.priority);
      w.name(mx.exchange);
      break;
    }
    case TYPE.TXT:
    case TYPE.SPF: {
      // A string longer than 255 bytes is split into several character-strings, as publishers do.
      const strings = Array.isArray(d) ? d : [String(d)];
      for (const s of strings) {
        let b = Buffer.from(s, 'utf8');
        do {
          const part = b.subarray(0, 255);
          w.u8(part.length);
          w.bytes(part);
          b = b.subarray(255);
        } while (b.length > 0);
      }
      break;
    }
    case TYPE.SOA: {
      const soa = d as Soa;
      w.name(soa.mname);
      w.name(soa.rname);
      w.u32(soa.serial);
      w.u32(soa.refresh);
      w.u32(soa.retry);
      w.u32(soa.expire);
      w.u32(soa.minimum);
      break;
    }
    default:
      if (!Buffer.isBuffer(d)) throw new WireError(`cannot encode type ${rr.type}`);
      w.bytes(d);
  }
  return w.done();
}

function writeRecord(w: Writer, rr: ResourceRecord): void {
  w.name(rr.name);
  w.u16(rr.type);
  w.u16(CLASS_IN);
  w.u32(rr.ttl);
  const rdata = encodeRData(rr);
  w.u16(rdata.length);
  w.bytes(rdata);
}

export function encodeMessage(m: DnsMessage): Buffer {
  const w = new Writer();
  w.u16(m.id);
  const flags =
    (m.response ? 0x8000 : 0) |
    ((m.opcode & 0xf) << 11) |
    (m.authoritative ? 0x0400 : 0) |
    (m.truncated ? 0x0200 : 0) |
    (m.recursionDesired ? 0x0100 : 0) |
    (m.recursionAvailable ? 0x0080 : 0) |
    (m.rcode & 0xf);
  w.u16(flags);
  w.u16(m.questions.length);
  w.u16(m.answers.length);
  w.u16(m.authorities.length);
  w.u16(m.additionals.length + (m.udpPayloadSize ? 1 : 0));
  for (const q of m.questions) {
    w.name(q.name);
    w.u16(q.type);
    w.u16(CLASS_IN);
  }
  for (const rr of m.answers) writeRecord(w, rr);
  for (const rr of m.authorities) writeRecord(w, rr);
  for (const rr of m.additionals) writeRecord(w, rr);
  if (m.udpPayloadSize) {
    // EDNS0 OPT pseudo-record: root name, class = payload size, no options.
    w.u8(0);
    w.u16(TYPE.OPT);
    w.u16(m.udpPayloadSize);
    w.u32(0);
    w.u16(0);
  }
  return w.done();
}

export function encodeQuery(id: number, name: string, type: number): Buffer {
  return encodeMessage({
    id,
    response: false,
    opcode: 0,
    authoritative: false,
    truncated: false,
    recursionDesired: true,
    recursionAvailable: false,
    rcode: 0,
    questions: [{ name, type }],
    answers: [],
    authorities: [],
    additionals: [],
    udpPayloadSize: 1232,
  });
}

// ---------------------------------------------------------------- decoding

class Reader {
  readonly buf: Buffer;
  pos = 0;

  constructor(buf: Buffer) {
    this.buf = buf;
  }
  need(n: number): void {
    if (this.pos + n > this.buf.length) throw new WireError('message truncated');
  }
  u8(): number {
    this.need(1);
    return this.buf[this.pos++];
  }
  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  take(n: number): Buffer {
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  /** A possibly compressed name; pointers may only go backwards, which also rules out loops. */
  name(): string {
    const labels: string[] = [];
    let pos = this.pos;
    let jumped = false;
    let limit = pos;
    for (;;) {
      if (pos >= this.buf.length) throw new WireError('name runs past the message');
      const len = this.buf[pos];
      if ((len & 0xc0) === 0xc0) {
        if (pos + 1 >= this.buf.length) throw new WireError('bad compression pointer');
        const target = ((len & 0x3f) << 8) | this.buf[pos + 1];
        if (!jumped) this.pos = pos + 2;
        if (target >= limit) throw new WireError('forward compression pointer');
        jumped = true;
        limit = target;
        pos = target;
        continue;
      }
      if (len & 0xc0) throw new WireError('bad label type');
      pos += 1;
      if (len === 0) break;
      if (pos + len > this.buf.length) throw new WireError('label runs past the message');
      labels.push(this.buf.toString('latin1', pos, pos + len));
      pos += len;
    }
    if (!jumped) this.pos = pos;
    return labels.join('.');
  }
}

function decodeRData(r: Reader, type: number, length: number): RData {
  const end = r.pos + length;
  r.need(length);
  let data: RData;
  switch (type) {
    case TYPE.A:
      data = [...r.take(4)].join('.');
      break;
    case TYPE.AAAA:
      data = bytesToIpv6(r.take(16));
      break;
    case TYPE.NS:
    case TYPE.CNAME:
    case TYPE.PTR:
      data = r.name();
      break;
    case TYPE.MX: {
      const priority = r.u16();
      data = { priority, exchange: r.name() };
      break;
    }
    case TYPE.TXT:
    case TYPE.SPF: {
      const strings: string[] = [];
      while (r.pos < end) strings.push(r.take(r.u8()).toString('utf8'));
      data = strings;
      break;
    }
    case TYPE.SOA:
      data = { mname: r.name(), rname: r.name(), serial: r.u32(), refresh: r.u32(), retry: r.u32(), expire: r.u32(), minimum: r.u32() };
      break;
    default:
      data = Buffer.from(r.take(length));
  }
  if (r.pos !== end) throw new WireError(`bad ${typeName(type)} record length`);
  return data;
}

function readRecords(r: Reader, count: number, out: ResourceRecord[], m: DnsMessage): void {
  for (let i = 0; i < count; i++) {
    const name = r.name();
    const type = r.u16();
    const klass = r.u16();
    const ttl = r.u32();
    const length = r.u16();
    if (type === TYPE.OPT) {
      m.udpPayloadSize = klass;
      r.take(length);
      continue;
    }
    out.push({ name, type, ttl, data: decodeRData(r, type, length) });
  }
}

export function decodeMessage(buf: Buffer): DnsMessage {
  const r = new Reader(buf);
  const id = r.u16();
  const flags = r.u16();
  const qd = r.u16();
  const an = r.u16();
  const ns = r.u16();
  const ar = r.u16();
  const m: DnsMessage = {
    id,
    response: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    authoritative: (flags & 0x0400) !== 0,
    truncated: (flags & 0x0200) !== 0,
    recursionDesired: (flags & 0x0100) !== 0,
    recursionAvailable: (flags & 0x0080) !== 0,
    rcode: flags & 0xf,
    questions: [],
    answers: [],
    authorities: [],
    additionals: [],
  };
  for (let i = 0; i < qd; i++) {
    const name = r.name();
    const type = r.u16();
    r.u16();
    m.questions.push({ name, type });
  }
  readRecords(r, an, m.answers, m);
  readRecords(r, ns, m.authorities, m);
  readRecords(r, ar, m.additionals, m);
  return m;
}

// ---------------------------------------------------------------- IPv6 text form

export function ipv6ToBytes(text: string): Buffer {
  let s = text;
  const out = Buffer.alloc(16);
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two groups.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number);
    s = s.slice(0, v4.index) + ((a << 8) | b).toString(16) + ':' + ((c << 8) | d).toString(16);
  }
  const halves = s.split('::');
  if (halves.length > 2) throw new WireError(`bad AAAA ${text}`);
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const groups = halves.length === 2 ? [...head, ...Array<string>(8 - head.length - tail.length).fill('0'), ...tail] : head;
  if (groups.length !== 8 || groups.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) throw new WireError(`bad AAAA ${text}`);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

/** RFC 5952 form, as node:dns gives it: lower case, longest zero run compressed. */
export function bytesToIpv6(b: Buffer): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i));
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return hex.slice(0, bestStart).join(':') + '::' + hex.slice(bestStart + bestLen).join(':');
}
