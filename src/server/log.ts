// The node's structured logger (pino), to stdout or to a file.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, file: string | undefined): Logger {
  const destination = file === undefined ? pino.destination({ dest: 1, sync: false }) : pino.destination({ dest: file, mkdir: true, sync: false, mode: 0o600 });
  // A closed stdout (a pipe whose reader left) must not take the node down or stall its exit.
  destination.on('error', () => undefined);
  return pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, destination);
}
