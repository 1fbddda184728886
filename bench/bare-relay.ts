// The ceiling of this stack: smtp-server in, nodemailer pool out, no checks. Started by bench/throughput.ts.
// Usage: node bench/bare-relay.ts DOWNSTREAM_PORT  → prints "PORT <n>" once listening.
import { SMTPServer } from 'smtp-server';
import nodemailer from 'nodemailer';
import type { AddressInfo } from 'node:net';

const downstream = Number(process.argv[2]);
const transport = nodemailer.createTransport({ host: '127.0.0.1', port: downstream, pool: true, maxConnections: 10, maxMessages: 1000, ignoreTLS: true, logger: false });
const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['AUTH', 'STARTTLS'],
  disableReverseLookup: true,
  logger: false,
  size: 26214400,
  onData(stream, session, cb) {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      transport.sendMail({
        envelope: { from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address) },
        raw: Buffer.concat(chunks),
      }).then((info) => cb(null, String(info.response)), (err: Error) => cb(Object.assign(new Error(err.message), { responseCode: 451 })));
    });
  },
});
server.listen(0, '127.0.0.1', () => {
  const port = ((server as unknown as { server: { address(): AddressInfo } }).server.address()).port;
  process.stdout.write(`PORT ${port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
