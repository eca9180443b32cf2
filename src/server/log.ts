// The node's structured logger (pino), to stdout or to a file; JSON lines, or pretty single lines
// for people at a terminal (pino-pretty, in-process). Which format: decided here, once.
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

export const LOG_FORMATS = ['pretty', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** --log-format given, or else: pretty when the logs go to a terminal, JSON to a file or a pipe. */
export function resolveLogFormat(given: string | undefined, toFile: boolean, stdoutIsTty: boolean): LogFormat {
  if (given === undefined) return !toFile && stdoutIsTty ? 'pretty' : 'json';
  const format = LOG_FORMATS.find((f) => f === given);
  if (format === undefined) throw new RangeError(`--log-format must be one of ${LOG_FORMATS.join(', ')}, got "${given}"`);
  return format;
}

export function createLogger(level: string, file: string | undefined, format: LogFormat = 'json'): Logger {
  const opts = { level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime };
  if (format === 'pretty') {
    const stream = pretty({
      singleLine: true,
      colorize: file === undefined && process.stdout.isTTY === true,
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname',
      sync: true,
      destination: file === undefined ? 1 : pino.destination({ dest: file, mkdir: true, sync: true, mode: 0o600 }),
    });
    stream.on('error', () => undefined);
    return pino(opts, stream);
  }
  const destination = file === undefined ? pino.destination({ dest: 1, sync: false }) : pino.destination({ dest: file, mkdir: true, sync: false, mode: 0o600 });
  // A closed stdout (a pipe whose reader left) must not take the node down or stall its exit.
  destination.on('error', () => undefined);
  return pino(opts, destination);
}
