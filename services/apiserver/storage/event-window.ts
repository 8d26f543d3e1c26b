/**
 * The last `size` events of a store or cache, oldest first: what watches resume from and what
 * snapshots undo. Events pushed out of the window are cut off in chunks of an eighth of it, not
 * one per push (that would copy the whole window on every write).
 */
export class EventWindow<E extends { revision: number }> {
  /** Retained events are `events[head..]`. */
  private events: E[] = [];
  private head = 0;

  constructor(private readonly size: number) {}

  /** Appends `e`; returns the revision of the newest event this pushed out of the window, if any. */
  push(e: E): number | undefined {
    this.events.push(e);
    if (this.events.length - this.head <= this.size) return undefined;
    this.head = this.events.length - this.size;
    const dropped = this.events[this.head - 1]!.revision;
    if (this.head >= Math.max(64, this.size >> 3)) this.cut();
    return dropped;
  }

  /** Forgets the events at or before `revision`. */
  dropThrough(revision: number): void {
    while (this.head < this.events.length && this.events[this.head]!.revision <= revision) this.head++;
    this.cut();
  }

  clear(): void {
    this.events = [];
    this.head = 0;
  }

  /** Calls `fn` with every retained event after `revision`, oldest first. */
  forEachAfter(revision: number, fn: (e: E) => void): void {
    for (let i = this.head; i < this.events.length; i++) {
      const e = this.events[i]!;
      if (e.revision > revision) fn(e);
    }
  }

  /** Calls `fn` with every retained event after `revision`, newest first (to undo them). */
  forEachAfterNewestFirst(revision: number, fn: (e: E) => void): void {
    for (let i = this.events.length - 1; i >= this.head && this.events[i]!.revision > revision; i--)
      fn(this.events[i]!);
  }

  private cut(): void {
    this.events = this.events.slice(this.head);
    this.head = 0;
  }
}
