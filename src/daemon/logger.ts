import winston from 'winston';

/**
 * Logs written for the journal: one line per event, no timestamp (journald
 * adds one), the level first, then the message and key=value fields, which
 * `journalctl -u containerd-ts` shows and greps well.
 */
export function createLogger(level: string): winston.Logger {
  const underJournal = Boolean(process.env.JOURNAL_STREAM || process.env.INVOCATION_ID);
  return winston.createLogger({
    level,
    format: winston.format.combine(
      winston.format.errors({ stack: false }),
      winston.format.printf((info) => {
        const { level: lvl, message, ...fields } = info;
        const kv = Object.entries(fields)
          .filter(([k]) => typeof k === 'string' && k !== 'stack')
          .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`)
          .join(' ');
        const prefix = underJournal ? '' : `${new Date().toISOString()} `;
        return `${prefix}${lvl}: ${String(message)}${kv ? ' ' + kv : ''}`;
      }),
    ),
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] })],
  });
}

export type Logger = winston.Logger;
