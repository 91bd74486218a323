/**
 * Logs written for the journal: one line per event on stderr, no timestamp
 * under systemd (journald adds one), the level first, then the message and
 * key=value fields, which `journalctl -u containerd-ts` shows and greps
 * well. (winston did the same with a few lines of configuration, but took
 * ~40 ms of every daemon start to load.)
 */

/** What the daemon logs through. */
export interface Logger {
  error(message: string, fields?: object): void;
  warn(message: string, fields?: object): void;
  info(message: string, fields?: object): void;
  debug(message: string, fields?: object): void;
}

const LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LEVELS)[number];

/** A logger writing lines at `level` and above to `write` (stderr by default); `silent` writes nothing. */
export function createLogger(level: LogLevel | 'silent', write: (line: string) => void = (line) => process.stderr.write(line)): Logger {
  const threshold = level === 'silent' ? -1 : LEVELS.indexOf(level);
  const underJournal = Boolean(process.env.JOURNAL_STREAM || process.env.INVOCATION_ID);
  const at = (lvl: LogLevel) => (message: string, fields?: object) => {
    if (LEVELS.indexOf(lvl) > threshold) return;
    write(`${formatLine(lvl, message, fields, underJournal ? undefined : new Date())}\n`);
  };
  return { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') };
}

/** `level: message k=v k2="v with spaces"`, prefixed with the time when not under the journal. */
export function formatLine(level: LogLevel, message: string, fields: object = {}, time?: Date): string {
  const kv = Object.entries(fields)
    .filter(([k]) => k !== 'stack')
    .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${time ? `${time.toISOString()} ` : ''}${level}: ${message}${kv ? ` ${kv}` : ''}`;
}
