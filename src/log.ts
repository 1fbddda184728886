import { pino, type Logger } from 'pino';

/** JSON lines on stdout (pino); `destination` lets the CLI send logs to stderr so its own output stays clean. */
export function createLogger(level: string, destination: 1 | 2 = 1): Logger {
  return pino({ level, base: { name: 'sluice' }, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ dest: destination, sync: false }));
}
