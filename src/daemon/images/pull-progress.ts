/**
 * Pull progress events, one stream per pull: a status change is passed on
 * at once, byte counts of a download at most every PROGRESS_INTERVAL_MS per
 * descriptor (a 500 MB layer must not become a million events).
 */
import type { Descriptor } from '../../oci/image-types.js';

/** Where one descriptor of a pull is. */
export type PullStatus = 'resolved' | 'waiting' | 'downloading' | 'exists' | 'done' | 'unpacking' | 'unpacked';

/** One progress event. */
export interface PullProgress {
  digest: string;
  mediaType: string;
  offset: number;
  total: number;
  status: PullStatus;
}

export const PROGRESS_INTERVAL_MS = 100;

export class ProgressThrottle {
  private readonly lastSent = new Map<string, number>();
  private readonly pending = new Map<string, PullProgress>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly sink: (p: PullProgress) => void) {}

  /** Reports `desc` at `status`; 'downloading' is throttled, the rest is immediate. */
  emit(desc: Descriptor, status: PullStatus, offset: number, total: number = desc.size): void {
    const event: PullProgress = { digest: desc.digest, mediaType: desc.mediaType, offset, total, status };
    if (status !== 'downloading') {
      this.pending.delete(desc.digest);
      this.send(event);
      return;
    }
    const last = this.lastSent.get(desc.digest) ?? 0;
    if (Date.now() - last >= PROGRESS_INTERVAL_MS) {
      this.pending.delete(desc.digest);
      this.send(event);
      return;
    }
    this.pending.set(desc.digest, event);
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, PROGRESS_INTERVAL_MS);
    this.timer.unref?.();
  }

  /** Sends what is pending and stops the timer. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const events = [...this.pending.values()];
    this.pending.clear();
    for (const e of events) this.send(e);
  }

  private send(event: PullProgress): void {
    this.lastSent.set(event.digest, Date.now());
    try {
      this.sink(event);
    } catch {
      // A listener that throws (a closed stream) must not fail the pull.
    }
  }
}
