// A downstream sink in its own process for benchmarks. Prints "PORT <n>"; keeps only a count.
import { SMTPServer } from 'smtp-server';
import type { AddressInfo } from 'node:net';

let received = 0;
const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['AUTH', 'STARTTLS'],
  disableReverseLookup: true,
  logger: false,
  onData(stream, _session, cb) {
    stream.resume();
    stream.on('end', () => cb(null, `2.0.0 Ok: queued as S${++received}`));
  },
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`PORT ${((server as unknown as { server: { address(): AddressInfo } }).server.address()).port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
