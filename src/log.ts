import { pino, symbols, type Logger } from 'pino';

/** Every Sluice logger writes the same line shape. */
const lineOptions = (level: string) => ({ level, base: { name: 'sluice' }, timestamp: pino.stdTimeFunctions.isoTime });

/** JSON lines on stdout (pino); `destination` lets the CLI send logs to stderr so its own output stays clean. */
export function createLogger(level: string, destination: 1 | 2 = 1): Logger {
  return pino(lineOptions(level), pino.destination({ dest: destination, sync: false }));
}

/** A logger whose lines go to `write`: a scan worker thread hands its lines to the main thread's logger. */
export function createForwardingLogger(level: string, write: (line: string) => void): Logger {
  return pino(lineOptions(level), { write });
}

/** Writes an already formatted line (from a worker thread) to where `log` writes. */
export function writeLogLine(log: Logger, line: string): void {
  (log as unknown as Record<symbol, { write(line: string): void }>)[symbols.streamSym].write(line);
}
