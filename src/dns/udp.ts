// UDP sockets shared by DNS questions. Opening, binding and closing a socket for every question cost
// more CPU than the question itself; here a socket carries up to `questionsPerSocket` questions, each
// with its own random id, and is then replaced by a fresh one on a new random source port (as c-ares
// does with udp_max_queries). A forged answer must still guess the port and the id, and match the question.
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import { randomInt } from 'node:crypto';

export interface UdpServer {
  host: string;
  port: number;
}

export interface UdpSocketOptions {
  /** Questions a socket carries before a new one (a new source port) takes over. */
  questionsPerSocket: number;
  /** A socket with nothing in flight is closed after this long. */
  idleCloseMs: number;
}

export const DEFAULT_UDP_SOCKET_OPTIONS: UdpSocketOptions = { questionsPerSocket: 100, idleCloseMs: 2000 };

interface Waiting {
  server: UdpServer;
  onReply: (reply: Buffer) => void;
  onError: () => void;
}

/** One socket and the questions waiting on it, by id. */
class SharedSocket {
  readonly family: 'udp4' | 'udp6';
  readonly socket: dgram.Socket;
  readonly waiting = new Map<number, Waiting>();
  asked = 0;
  closed = false;
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly onIdle: (s: SharedSocket) => void;

  constructor(family: 'udp4' | 'udp6', onIdle: (s: SharedSocket) => void) {
    this.onIdle = onIdle;
    this.family = family;
    this.socket = dgram.createSocket(family);
    this.socket.unref();
    this.socket.on('message', (msg, rinfo) => {
      if (msg.length < 2) return;
      const waiting = this.waiting.get(msg.readUInt16BE(0));
      // Only the server that question went to: anything else is ignored (spoofing).
      if (!waiting || rinfo.port !== waiting.server.port || rinfo.address !== waiting.server.host) return;
      waiting.onReply(msg);
    });
    this.socket.on('error', () => this.fail());
  }

  /** A fresh id for a question on this socket. */
  newId(): number {
    for (;;) {
      const id = randomInt(0, 65536);
      if (!this.waiting.has(id)) return id;
    }
  }

  add(id: number, waiting: Waiting): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.asked++;
    this.waiting.set(id, waiting);
  }

  remove(id: number): void {
    this.waiting.delete(id);
    if (this.waiting.size === 0) this.onIdle(this);
  }

  closeWhenIdle(ms: number): void {
    this.idleTimer = setTimeout(() => this.close(), ms);
    this.idleTimer.unref();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.idleTimer);
    this.socket.close();
  }

  /** A socket error fails every question on it; the socket is not used again. */
  private fail(): void {
    const waiting = [...this.waiting.values()];
    this.waiting.clear();
    this.close();
    for (const w of waiting) w.onError();
  }
}

export class UdpSockets {
  private readonly options: UdpSocketOptions;
  private readonly current: Partial<Record<'udp4' | 'udp6', SharedSocket>> = {};

  constructor(options: UdpSocketOptions = DEFAULT_UDP_SOCKET_OPTIONS) {
    this.options = options;
  }

  /**
   * Sends `packet` to `server` with a fresh id written into its first two bytes. `onReply` gets each
   * datagram from that server carrying that id until the returned function is called to stop
   * waiting; `onError` is called if the socket fails.
   */
  ask(server: UdpServer, packet: Buffer, onReply: (reply: Buffer) => void, onError: () => void): () => void {
    const shared = this.socketFor(isIPv6(server.host) ? 'udp6' : 'udp4');
    const id = shared.newId();
    packet.writeUInt16BE(id, 0);
    shared.add(id, { server, onReply, onError });
    let finished = false;
    shared.socket.send(packet, server.port, server.host, (err) => {
      if (err && !finished) onError();
    });
    return () => {
      if (finished) return;
      finished = true;
      if (!shared.closed) shared.remove(id);
    };
  }

  private socketFor(family: 'udp4' | 'udp6'): SharedSocket {
    let shared = this.current[family];
    if (!shared || shared.closed || shared.asked >= this.options.questionsPerSocket) {
      // A used-up socket stays open for the answers still due to it, and closes when they are in.
      if (shared && !shared.closed && shared.waiting.size === 0) shared.close();
      shared = new SharedSocket(family, (s) => this.idle(s));
      this.current[family] = shared;
    }
    return shared;
  }

  private idle(shared: SharedSocket): void {
    if (this.current[shared.family] === shared && shared.asked < this.options.questionsPerSocket) shared.closeWhenIdle(this.options.idleCloseMs);
    else shared.close();
  }
}
