/** Structured logger: text or JSON lines, level filter, secret redaction. */
import { matcherFor, REDACTED } from './redact';

export { REDACTED } from './redact';

export interface Logger {
  debug(msg: string, kv?: Record<string, unknown>): void;
  info(msg: string, kv?: Record<string, unknown>): void;
  warn(msg: string, kv?: Record<string, unknown>): void;
  error(msg: string, kv?: Record<string, unknown>): void;
  child(kv: Record<string, unknown>): Logger;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface LoggerOptions {
  level?: LogLevel;
  format?: 'text' | 'json';
  /** @default process.stderr */
  stream?: NodeJS.WritableStream;
  /**
   * Secret strings (credentials) that must never appear in a line. Return the
   * same array while the secrets do not change: it is compiled once.
   */
  redact?: () => Iterable<string>;
}

const LEVELS: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };
// Keys whose values are secrets whatever they hold. Plain "key" is not one:
// reconcilers log the work-queue key under it.
const SECRET_KEY = /pass(word|wd|phrase)?$|token|secret|credential|private.?key|api.?key|access.?key|^authorization$/i;

function plain(v: unknown): unknown {
  if (v instanceof Error) return v.message;
  return v;
}

function redactKv(kv: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(kv)) out[k] = SECRET_KEY.test(k) && v !== undefined && v !== '' ? REDACTED : plain(v);
  return out;
}

function textValue(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  if (v === undefined || typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return JSON.stringify(v) ?? String(v);
}

class StreamLogger implements Logger {
  constructor(
    private readonly opts: Required<Pick<LoggerOptions, 'level' | 'format'>> & LoggerOptions,
    private readonly base: Record<string, unknown>,
  ) {}

  debug(msg: string, kv?: Record<string, unknown>): void {
    this.log('debug', msg, kv);
  }
  info(msg: string, kv?: Record<string, unknown>): void {
    this.log('info', msg, kv);
  }
  warn(msg: string, kv?: Record<string, unknown>): void {
    this.log('warn', msg, kv);
  }
  error(msg: string, kv?: Record<string, unknown>): void {
    this.log('error', msg, kv);
  }
  child(kv: Record<string, unknown>): Logger {
    return new StreamLogger(this.opts, { ...this.base, ...kv });
  }

  private log(level: LogLevel, msg: string, kv?: Record<string, unknown>): void {
    if (LEVELS[level] < LEVELS[this.opts.level]) return;
    const fields = redactKv({ ...this.base, ...kv });
    const ts = new Date().toISOString();
    let line: string;
    if (this.opts.format === 'json') {
      line = JSON.stringify({ ts, level, msg, ...fields });
    } else {
      const parts = Object.entries(fields).map(([k, v]) => `${k}=${textValue(v)}`);
      line = [ts, level.toUpperCase(), msg, ...parts].join(' ');
    }
    (this.opts.stream ?? process.stderr).write(redactSecrets(line, this.opts.redact) + '\n');
  }
}

/**
 * Replaces every occurrence of each secret (and its JSON-escaped form) with
 * [REDACTED]; a secret containing another one is replaced whole.
 */
export function redactSecrets(line: string, redact?: () => Iterable<string>): string {
  if (!redact) return line;
  return matcherFor(redact()).redact(line);
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  return new StreamLogger({ level: 'info', format: 'text', ...opts }, {});
}

/** A logger that drops everything. */
export const nopLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return nopLogger;
  },
};
