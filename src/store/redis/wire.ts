// A command whose bytes Sluice writes itself. A message's token read is hundreds of keys: building
// them as strings and having ioredis serialize them argument by argument cost the client more CPU
// than Redis takes to answer. Only the bytes are ours: Cluster routing, queueing and reply parsing
// stay ioredis's.
import { Command } from 'ioredis';

export class WireCommand extends Command {
  private readonly wire: Buffer;

  /** `routeKey`: one of the command's keys (its Cluster slot); `wire`: the whole command in RESP. Replies come back as Buffers. */
  constructor(name: string, routeKey: string, wire: Buffer) {
    super(name, [routeKey]);
    this.wire = wire;
  }

  override toWritable(): Buffer {
    return this.wire;
  }
}

/** `$<length>\r\n`, the header of a bulk string. */
export function bulkHeader(length: number): Buffer {
  return Buffer.from(`$${length}\r\n`, 'latin1');
}

/** The RESP of a command's leading arguments (array header included), for a command of `count` arguments in all. */
export function commandHead(count: number, args: readonly string[]): string {
  let head = `*${count}\r\n`;
  for (const arg of args) head += `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`;
  return head;
}
