// The SMTP edge: the only file that knows smtp-server. It follows the dialogue, starts each scan stage as
// soon as its evidence is there, refuses before DATA when it can, and turns outcomes into SMTP replies.
import { readFileSync } from 'node:fs';
import type { AddressInfo, Server, Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';
import type { Config } from '../config/schema.ts';
import type { Pipeline, ScanResult, ScanSession, StageOutcome } from '../scan/pipeline.ts';
import type { Envelope, Verdict } from '../scan/types.ts';
import type { Delivery, Outcome } from '../deliver/delivery.ts';
import { addDsnRecipient, dsnOfMailFrom, type DsnRequest, type SmtpParams } from '../deliver/dsn.ts';
import { newId } from '../util/ids.ts';
import { withAsciiDomain } from '../util/address.ts';
import { ipv4Of } from '../util/ip.ts';
import { GREETING_BANNER, SmtpError, replies } from './replies.ts';

export interface SmtpGatewayOptions {
  config: Readonly<Config>;
  pipeline: Pipeline;
  delivery: Delivery;
  log: Logger;
  /** Reverse lookups for smtp-server go through the gateway's DNS layer; absent: none are made. */
  reverse?: (ip: string) => Promise<string[]>;
  /** Called with every completed scan, after the reply is decided (autolearn); must not throw. */
  onVerdict?: (result: ScanResult) => void;
  /** Counts replies, connections and verdicts (the admin metrics); optional. */
  metrics?: SmtpMetrics;
}

export interface SmtpMetrics {
  smtpReply(code: number): void;
  connectionOpened(): void;
  connectionClosed(): void;
  /** `savedBytes` absent: the client announced no size. */
  verdict(action: Verdict['action'], symbols: Verdict['symbols'], refusedBeforeData?: { savedBytes?: number }, seen?: { forcedBy?: string; size?: number }): void;
}

/** What a connection carries between its transactions. */
interface ConnectionState {
  log: Logger;
  ip: string;
  connectStage: Promise<StageOutcome>;
  abort: AbortController;
  txn?: TransactionState;
}

interface TransactionState {
  tid: string;
  envelope: Envelope;
  scan: ScanSession;
  startedAt: number;
  timer: NodeJS.Timeout;
  /** Set once a pre-DATA verdict refused the transaction, so later recipients get the same answer. */
  refusal?: SmtpError;
  /** Set once any recipient was refused (the transaction's, or one recipient's own refusal). */
  refusedBefore?: boolean;
  /** DSN parameters of MAIL FROM and the accepted RCPT TOs, passed on when relaying. */
  dsn?: DsnRequest;
}

/** Why a closed connection's checks stop: one shared reason, since abort() without one builds a DOMException with a stack each time. */
const CLIENT_GONE = new Error('client disconnected');

const ENHANCED_CODE = /^[245]\.\d{1,3}\.\d{1,3}\b/;

/** Enhanced status codes (RFC 3463) for the refusals smtp-server sends on its own, more telling than its generic ones. */
const BUILTIN_ENHANCED: Record<number, string> = {
  421: '4.4.2', 450: '4.2.1', 451: '4.3.0', 452: '4.5.3', 500: '5.5.2', 501: '5.5.4', 502: '5.5.1', 503: '5.5.1',
  504: '5.5.4', 530: '5.7.0', 550: '5.7.1', 552: '5.3.4', 553: '5.1.3', 554: '5.6.0', 555: '5.5.4',
};

/** What the gateway uses of smtp-server's connection objects. */
interface ConnectionLike {
  id: string;
  /** The client's socket (smtp-server's field). */
  _socket: Socket;
  send(code: number, data?: string | string[], context?: unknown): void;
  close(): void;
}

export class SmtpGateway {
  private readonly o: SmtpGatewayOptions;
  private readonly server: SMTPServer;
  private readonly connections = new Map<string, ConnectionState>();
  private readonly perIp = new Map<string, number>();
  /** Message data held now over all connections, against smtp.maxInFlightBytes. */
  private inFlightBytes = 0;
  /** Connections accepted but not yet through onConnect: their connection-stage checks already run. */
  private readonly early = new Map<string, ConnectionState>();
  private closing = false;

  constructor(options: SmtpGatewayOptions) {
    this.o = options;
    const smtp = options.config.smtp;
    const tls = smtp.tls ? { key: readFileSync(smtp.tls.key), cert: readFileSync(smtp.tls.cert) } : {};
    this.server = new SMTPServer({
      name: smtp.hostname,
      banner: GREETING_BANNER,
      size: smtp.maxSize,
      maxClients: smtp.maxConnections,
      maxRecipients: 0, // counted here, so the reply carries our text
      socketTimeout: smtp.idleTimeoutMs,
      closeTimeout: smtp.shutdownGraceMs,
      // An inbound MX takes no logins: never an open relay through stolen credentials.
      disabledCommands: smtp.tls ? ['AUTH'] : ['AUTH', 'STARTTLS'],
      authOptional: true,
      hideSTARTTLS: !smtp.tls,
      // Every reply after EHLO carries an enhanced status code (RFC 3463), so the extension is announced (RFC 2034).
      hideENHANCEDSTATUSCODES: false,
      // Envelope addresses as widely deployed senders write them (user.@…, a..b@…), as Postfix takes
      // them: refusing one bounces real mail. Control and invisible characters are refused still.
      lenientAddressParsing: true,
      disableReverseLookup: !options.reverse,
      resolver: options.reverse ? { reverse: (ip: string, cb: (err: Error | null, names?: string[]) => void) => {
        options.reverse!(ip).then((names) => cb(null, names), (err: Error) => cb(err));
      } } : undefined,
      logger: false,
      ...tls,
      onConnect: (session, cb) => this.onConnect(session, cb),
      onMailFrom: (address, session, cb) => this.onMailFrom(withAsciiDomain(address.address), address.args, session, cb),
      onRcptTo: (address, session, cb) => void this.onRcptTo(withAsciiDomain(address.address), address.args, session, cb),
      onData: (stream, session, cb) => void this.onData(stream, session, cb),
      onClose: (session) => this.onClose(session),
    } as ConstructorParameters<typeof SMTPServer>[0]);
    // smtp-server waits 100 ms for early talkers, then asks for the client's name and greets once the
    // answer is in. Started at accept, the reverse lookup and the connection-stage checks (blocklists,
    // forward-confirmed rDNS) have their DNS answers in or on their way by then: their time overlaps
    // the pause instead of adding to it.
    this.listener().on('connection', (socket: Socket) => this.onAccept(socket));
  }

  /** Runs after smtp-server's own handler for the socket. */
  private onAccept(socket: Socket): void {
    // Not for a connection over the limit, which smtp-server turns away unnamed.
    if (this.smtpConnections().size > this.o.config.smtp.maxConnections || !socket.remoteAddress) return;
    const remote = socket.remoteAddress;
    this.o.reverse?.(remote).catch(() => {});
    // smtp-server makes its connection object (and so the id) on its next turn: look for it after that.
    setImmediate(() => {
      let id: string | undefined;
      for (const c of this.smtpConnections()) {
        if (c._socket === socket) id = c.id;
      }
      const ip = ipv4Of(remote) ?? remote;
      if (!id || this.closing || (this.perIp.get(ip) ?? 0) >= this.o.config.smtp.maxConnectionsPerIp) return;
      this.early.set(id, this.startConnection(id, ip));
    });
  }

  /** A connection's state, with its connection-stage checks started. */
  private startConnection(id: string, ip: string): ConnectionState {
    const log = this.o.log.child({ cid: id, ip });
    const abort = new AbortController();
    const envelope: Envelope = { clientIp: ip, helo: '', mailFrom: '', rcptTo: [] };
    const connectStage = this.o.pipeline.runStage('connect', id, envelope, log, abort.signal);
    return { log, ip, connectStage, abort };
  }

  async listen(): Promise<AddressInfo> {
    const { host, port } = this.o.config.smtp;
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        // From here on errors are logged; one while listening is the caller's to report.
        this.server.on('error', (err) => this.o.log.error({ err: err.message }, 'smtp server error'));
        resolve();
      });
    });
    const address = this.address();
    this.o.log.info({ host: address.address, port: address.port }, 'smtp listening');
    return address;
  }

  /**
   * Offers DSN (RFC 3461) in EHLO from now on, or stops offering it: only while the downstream does,
   * so that the parameters a client gives can go on (see deliver/downstream-probe.ts).
   */
  offerDsn(on: boolean): void {
    (this.server as unknown as { options: { hideDSN: boolean } }).options.hideDSN = !on;
  }

  address(): AddressInfo {
    return this.listener().address() as AddressInfo;
  }

  /** smtp-server's own TCP listener. */
  private listener(): Server {
    return (this.server as unknown as { server: Server }).server;
  }

  /**
   * Graceful stop: no new connections, idle clients are told 421 at once, transactions in flight may
   * finish within `shutdownGraceMs`, after which smtp-server closes what is left with 421.
   */
  async close(): Promise<void> {
    this.closing = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const conn of this.liveConnections()) {
      if (!this.connections.get(conn.id)?.txn) {
        conn.send(421, `4.3.2 ${this.o.config.smtp.hostname} shutting down`);
        conn.close();
      }
    }
    await closed;
  }

  /** smtp-server's live connections. */
  private smtpConnections(): Set<ConnectionLike> {
    return (this.server as unknown as { connections: Set<ConnectionLike> }).connections;
  }

  private liveConnections(): ConnectionLike[] {
    return [...this.smtpConnections()];
  }

  private connectionOf(session: SMTPServerSession): ConnectionLike | undefined {
    return this.liveConnections().find((c) => c.id === session.id);
  }

  private onConnect(session: SMTPServerSession, cb: (err?: Error | null) => void): void {
    const ip = ipv4Of(session.remoteAddress) ?? session.remoteAddress;
    const early = this.early.get(session.id);
    this.early.delete(session.id);
    const count = (this.perIp.get(ip) ?? 0) + 1;
    if (count > this.o.config.smtp.maxConnectionsPerIp) {
      early?.abort.abort(CLIENT_GONE);
      this.o.log.child({ cid: session.id, ip }).warn({ limit: this.o.config.smtp.maxConnectionsPerIp }, 'too many connections from one address');
      const refusal = replies.tooManyConnections();
      this.o.metrics?.smtpReply(refusal.responseCode);
      return cb(refusal);
    }
    this.perIp.set(ip, count);
    this.addEnhancedCodes(session);
    // Connection-stage checks started at accept (or start now) and run while the client talks.
    const conn = early ?? this.startConnection(session.id, ip);
    this.connections.set(session.id, conn);
    this.o.metrics?.connectionOpened();
    conn.log.debug('connected');
    cb();
  }

  /** Keeps smtp-server's own replies (size, syntax, sequence) in the same form as ours: with an enhanced status. */
  private addEnhancedCodes(session: SMTPServerSession): void {
    const conn = this.connectionOf(session);
    if (!conn) return;
    const send = conn.send.bind(conn);
    conn.send = (code, data, context) => {
      this.o.metrics?.smtpReply(code);
      if (typeof data !== 'string') return send(code, data, context);
      // Ours carry their code already; for smtp-server's own refusals we know a better one than its
      // generic choice. `false` keeps smtp-server from adding a second code.
      if (ENHANCED_CODE.test(data)) return send(code, data, false);
      const enhanced = BUILTIN_ENHANCED[code];
      if (enhanced) return send(code, `${enhanced} ${data.replace(/^Error: /, '')}`, false);
      // Everything else (250 Accepted, 221 Bye) gets smtp-server's code for the command it answers.
      send(code, data, context);
    };
  }

  private onMailFrom(from: string, args: unknown, session: SMTPServerSession, cb: (err?: Error | null) => void): void {
    const conn = this.connections.get(session.id);
    if (!conn) return cb(replies.localError(session.id));
    this.endTransaction(conn);
    const tid = newId();
    const declared = args ? Number((args as NonNullable<SmtpParams>).SIZE) : NaN;
    const envelope: Envelope = {
      clientIp: conn.ip,
      clientHostname: hostnameOf(session),
      helo: String(session.hostNameAppearsAs || ''),
      mailFrom: from,
      rcptTo: [],
    };
    if (Number.isFinite(declared) && declared > 0) {
      envelope.declaredSize = declared;
      // Refused before the body crosses the link; the sender retries when we have room again.
      if (this.inFlightBytes + declared > this.o.config.smtp.maxInFlightBytes) {
        conn.log.warn({ declared, inFlight: this.inFlightBytes }, 'too much mail in flight');
        return cb(replies.busy());
      }
    }
    const log = conn.log.child({ tid });
    const scan = this.o.pipeline.begin(tid, envelope, log, conn.connectStage);
    scan.start('mail');
    const timer = setTimeout(() => this.transactionTimedOut(session), this.o.config.smtp.transactionTimeoutMs);
    conn.txn = { tid, envelope, scan, startedAt: Date.now(), timer, dsn: dsnOfMailFrom(args as SmtpParams) };
    cb();
  }

  private async onRcptTo(rcpt: string, args: unknown, session: SMTPServerSession, cb: (err?: Error | null) => void): Promise<void> {
    const conn = this.connections.get(session.id);
    const txn = conn?.txn;
    if (!conn || !txn) return cb(replies.localError(session.id));
    // RFC 5321 4.5.1: "RCPT TO:<Postmaster>" without a domain must be taken; it goes to our first domain's postmaster.
    if (rcpt.toLowerCase() === 'postmaster') rcpt = `postmaster@${this.o.config.domains[0]}`;
    const domain = rcpt.slice(rcpt.lastIndexOf('@') + 1).toLowerCase();
    if (!rcpt.includes('@') || !this.o.config.domains.includes(domain)) {
      conn.log.info({ tid: txn.tid, rcpt }, 'relay denied');
      return cb(replies.relayDenied(domain || rcpt));
    }
    if (txn.envelope.rcptTo.length >= this.o.config.smtp.maxRecipients) return cb(replies.tooManyRecipients());
    if (txn.refusal) return cb(txn.refusal);
    try {
      // What is known before the body may already be enough to refuse: the body then never crosses the link.
      txn.envelope.rcptTo.push(rcpt);
      const { verdict, own } = await txn.scan.recipientVerdict(rcpt);
      if (verdict.action === 'reject' || verdict.action === 'tempfail') {
        txn.envelope.rcptTo.pop();
        const refusal = verdict.action === 'reject'
          ? replies.rejected(this.o.delivery.rejectText(verdict), txn.tid)
          : replies.tempfail(txn.tid, this.o.delivery.tempfailText(verdict));
        // A refusal of this recipient's own (greylisting, a recipient's rate limit) leaves the others their chance.
        if (!own) txn.refusal = refusal;
        // The body is saved only while no recipient was taken; counted at the transaction's first refusal.
        const saves = txn.envelope.rcptTo.length === 0 && !txn.refusedBefore;
        txn.refusedBefore = true;
        this.logVerdict(conn, txn, verdict, { stage: 'rcpt', savedBytes: saves ? txn.envelope.declaredSize : 0, ...(own ? { refusedRcpt: rcpt } : {}) });
        return cb(refusal);
      }
      txn.dsn = addDsnRecipient(txn.dsn, rcpt, args as SmtpParams);
      cb();
    } catch (err) {
      txn.envelope.rcptTo.pop();
      conn.log.error({ tid: txn.tid, err: (err as Error).message }, 'recipient check failed');
      cb(replies.localError(txn.tid));
    }
  }

  private async onData(stream: Readable & { sizeExceeded?: boolean }, session: SMTPServerSession, cb: (err?: Error | null, message?: string) => void): Promise<void> {
    const conn = this.connections.get(session.id);
    const txn = conn?.txn;
    if (!conn || !txn) {
      stream.resume();
      return void stream.once('end', () => cb(replies.localError(session.id)));
    }
    const max = this.o.config.smtp.maxSize;
    const budget = this.o.config.smtp.maxInFlightBytes;
    let held = 0;
    try {
      const chunks: Buffer[] = [];
      let size = 0;
      let overBudget = false;
      for await (const chunk of stream) {
        size += (chunk as Buffer).length;
        // Past a limit keep reading (the client is still sending) but stop keeping.
        if (size > max || overBudget) continue;
        chunks.push(chunk as Buffer);
        held += (chunk as Buffer).length;
        this.inFlightBytes += (chunk as Buffer).length;
        if (this.inFlightBytes > budget) {
          overBudget = true;
          chunks.length = 0;
          this.inFlightBytes -= held;
          held = 0;
        }
      }
      if (stream.sizeExceeded || size > max) {
        conn.log.info({ tid: txn.tid, size, max }, 'message too big');
        return cb(replies.messageTooBig(max));
      }
      if (overBudget) {
        conn.log.warn({ tid: txn.tid, size, inFlight: this.inFlightBytes }, 'too much mail in flight');
        return cb(replies.busy());
      }
      const raw = Buffer.concat(chunks, size);
      chunks.length = 0; // the pieces are garbage now, not kept alive through the checks and the relay
      const result = await txn.scan.finish(raw);
      this.o.onVerdict?.(result);
      let outcome: Outcome;
      try {
        outcome = await this.o.delivery.act(
          { tid: txn.tid, envelope: txn.envelope, raw, protocol: session.transmissionType, receivedAt: new Date(txn.startedAt), dsn: txn.dsn },
          result.verdict,
          result.authResults,
        );
      } catch (err) {
        this.logVerdict(conn, txn, result.verdict, { size, reply: (err as Error).message });
        throw err;
      }
      this.logVerdict(conn, txn, result.verdict, { size, relayId: outcome.relayId, quarantineId: outcome.quarantineId, refused: outcome.refused });
      cb(null, outcome.reply);
    } catch (err) {
      if (err instanceof SmtpError) return cb(err);
      // Our own failure during DATA is never permanent: the sender keeps the message and retries.
      conn.log.error({ tid: txn.tid, err: (err as Error).stack }, 'message handling failed');
      cb(replies.localError(txn.tid));
    } finally {
      this.inFlightBytes -= held;
      this.endTransaction(conn);
    }
  }

  private onClose(session: SMTPServerSession): void {
    // Gone before the greeting (an early talker, or over a limit): stop what started at accept.
    this.early.get(session.id)?.abort.abort(CLIENT_GONE);
    this.early.delete(session.id);
    const conn = this.connections.get(session.id);
    if (!conn) return;
    this.connections.delete(session.id);
    this.o.metrics?.connectionClosed();
    conn.abort.abort(CLIENT_GONE);
    this.endTransaction(conn);
    const left = (this.perIp.get(conn.ip) ?? 1) - 1;
    if (left > 0) this.perIp.set(conn.ip, left);
    else this.perIp.delete(conn.ip);
    conn.log.debug('disconnected');
  }

  private transactionTimedOut(session: SMTPServerSession): void {
    const conn = this.connections.get(session.id);
    conn?.log.warn({ tid: conn.txn?.tid, limitMs: this.o.config.smtp.transactionTimeoutMs }, 'transaction timed out');
    const c = this.connectionOf(session);
    if (c) {
      const e = replies.transactionTimeout();
      c.send(e.responseCode, e.message);
      c.close();
    }
  }

  private endTransaction(conn: ConnectionState): void {
    if (!conn.txn) return;
    clearTimeout(conn.txn.timer);
    conn.txn = undefined;
  }

  /** One line per message: the operator's record of what happened and why. */
  private logVerdict(conn: ConnectionState, txn: TransactionState, verdict: Verdict, extra: Record<string, unknown>): void {
    const symbols: Record<string, number> = {};
    for (const s of verdict.symbols) symbols[s.name] = s.score;
    const refused = extra.stage === 'rcpt' ? { savedBytes: extra.savedBytes as number | undefined } : undefined;
    this.o.metrics?.verdict(verdict.action, verdict.symbols, refused, { forcedBy: verdict.forcedBy, size: typeof extra.size === 'number' ? extra.size : undefined });
    conn.log.info({
      tid: txn.tid,
      helo: txn.envelope.helo,
      from: txn.envelope.mailFrom,
      rcpt: txn.envelope.rcptTo,
      action: verdict.action,
      score: verdict.score,
      symbols,
      forcedBy: verdict.forcedBy,
      ms: Date.now() - txn.startedAt,
      ...extra,
    }, 'verdict');
  }
}

function hostnameOf(session: SMTPServerSession): string | undefined {
  const name = session.clientHostname;
  return name && !name.startsWith('[') ? name : undefined;
}
