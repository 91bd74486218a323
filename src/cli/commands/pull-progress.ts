/**
 * Shows pull progress: on a terminal, one live line per descriptor (status,
 * bar, bytes, speed, ETA) redrawn in place; otherwise plain lines, one per
 * status change, so logs and pipes stay readable.
 */
import { humanSize } from './images.js';

/** One progress event as the CLI receives it. */
export interface ProgressEvent {
  digest: string;
  mediaType: string;
  offset: number;
  total: number;
  status: string;
}

interface Row {
  kind: string;
  digest: string;
  status: string;
  offset: number;
  total: number;
  /** Offset and time of the first 'downloading' event (resumed bytes do not count as speed). */
  startOffset?: number;
  startedAt?: number;
  finishedAt?: number;
  lastPlainAt?: number;
}

const BAR_WIDTH = 20;
const REDRAW_MS = 100;
/** Non-TTY: a downloading line at most this often per layer. */
const PLAIN_INTERVAL_MS = 5_000;

/** The kind of a descriptor for humans: index, manifest, config or layer. */
export function kindOf(mediaType: string): string {
  if (/index|manifest\.list/.test(mediaType)) return 'index';
  if (/manifest/.test(mediaType)) return 'manifest';
  if (/config/.test(mediaType)) return 'config';
  return 'layer';
}

/** Speed in bytes/s and ETA in seconds of a row, when known. */
export function rate(row: Pick<Row, 'offset' | 'total' | 'startOffset' | 'startedAt' | 'finishedAt'>, now: number): { speed?: number; eta?: number } {
  if (row.startedAt === undefined || row.startOffset === undefined) return {};
  const seconds = ((row.finishedAt ?? now) - row.startedAt) / 1000;
  const bytes = row.offset - row.startOffset;
  if (seconds < 0.2 || bytes <= 0) return {};
  const speed = bytes / seconds;
  return { speed, eta: Math.max(0, (row.total - row.offset) / speed) };
}

export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)}s`;
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds % 60);
  return m < 60 ? `${m}m${String(s).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export class PullProgressRenderer {
  private readonly rows = new Map<string, Row>();
  private readonly startedAt: number;
  private drawn = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number },
    private readonly ref: string,
    private readonly tty: boolean = out.isTTY === true,
    private readonly now: () => number = Date.now,
  ) {
    this.startedAt = now();
    if (this.tty) {
      this.timer = setInterval(() => this.draw(), REDRAW_MS);
      this.timer.unref?.();
    } else {
      this.out.write(`${ref}: resolving\n`);
    }
  }

  update(e: ProgressEvent): void {
    const key = `${e.digest} ${e.status === 'unpacking' || e.status === 'unpacked' ? 'unpack' : ''}`;
    let row = this.rows.get(key);
    const kind = e.status === 'unpacking' || e.status === 'unpacked' ? 'unpack' : kindOf(e.mediaType);
    if (row === undefined) {
      row = { kind, digest: e.digest, status: e.status, offset: e.offset, total: e.total };
      this.rows.set(key, row);
    }
    const changed = row.status !== e.status;
    row.status = e.status;
    row.offset = e.offset;
    row.total = e.total;
    const t = this.now();
    if (e.status === 'downloading' && row.startedAt === undefined) {
      row.startedAt = t;
      row.startOffset = e.offset;
    }
    if (['done', 'exists', 'unpacked'].includes(e.status)) row.finishedAt ??= t;
    if (!this.tty) this.plain(row, changed, t);
  }

  /** Final state: the last frame (TTY) and the summary line. */
  finish(name: string, digest: string): void {
    this.stop();
    const seconds = (this.now() - this.startedAt) / 1000;
    const downloaded = [...this.rows.values()].filter((r) => r.kind === 'layer' && r.startedAt !== undefined).reduce((n, r) => n + (r.offset - (r.startOffset ?? 0)), 0);
    this.out.write(`pulled ${name} (${digest}): ${humanSize(downloaded)} downloaded in ${formatDuration(seconds)}\n`);
  }

  /** Stops redrawing (after an error the last frame stays). */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.tty) this.draw();
  }

  private plain(row: Row, changed: boolean, t: number): void {
    if (row.status === 'downloading') {
      if (!changed && row.lastPlainAt !== undefined && t - row.lastPlainAt < PLAIN_INTERVAL_MS) return;
    } else if (!changed && row.lastPlainAt !== undefined) {
      return;
    }
    row.lastPlainAt = t;
    this.out.write(`${this.line(row, t, false)}\n`);
  }

  private draw(): void {
    const t = this.now();
    const width = Math.max(60, this.out.columns || 120);
    const lines = [`${this.ref}: ${this.overall()}`, ...[...this.rows.values()].map((r) => this.line(r, t, true))].map((l) => l.slice(0, width - 1));
    let frame = '';
    if (this.drawn > 0) frame += `\x1b[${this.drawn}A`;
    for (const l of lines) frame += `\x1b[2K${l}\n`;
    this.drawn = lines.length;
    this.out.write(frame);
  }

  private overall(): string {
    const rows = [...this.rows.values()];
    if (rows.length === 0) return 'resolving';
    const layers = rows.filter((r) => r.kind === 'layer');
    const done = layers.filter((r) => r.status === 'done' || r.status === 'exists').length;
    const bytes = layers.reduce((n, r) => n + r.offset, 0);
    const total = layers.reduce((n, r) => n + r.total, 0);
    return `${done}/${layers.length} layers, ${humanSize(bytes)}/${humanSize(total)}, elapsed ${formatDuration((this.now() - this.startedAt) / 1000)}`;
  }

  private line(row: Row, t: number, bar: boolean): string {
    const id = `${row.kind.padEnd(8)} ${row.digest.replace(/^sha256:/, '').slice(0, 12)}`;
    const status = row.status.padEnd(11);
    if (row.kind === 'unpack') return `${id} ${status}`;
    const fraction = row.total > 0 ? Math.min(1, row.offset / row.total) : row.status === 'done' || row.status === 'exists' ? 1 : 0;
    const filled = Math.round(fraction * BAR_WIDTH);
    const barText = bar ? ` |${'+'.repeat(filled)}${' '.repeat(BAR_WIDTH - filled)}|` : '';
    const { speed, eta } = rate(row, t);
    let text = `${id} ${status}${barText} ${humanSize(row.offset)}/${humanSize(row.total)}`;
    if (speed !== undefined) text += `  ${humanSize(speed)}/s`;
    if (row.status === 'downloading' && eta !== undefined) text += `  ETA ${formatDuration(eta)}`;
    return text;
  }
}
