import type { Storage } from '../../storage/storage.js';
import { EXPIRY_PREFIX, expiryPosition, parseExpiryName, timeBound } from './lease.js';

/** Tuning of the in-memory expiry window. */
export interface ScheduleLimits {
  /** Milliseconds ahead of now that the window tries to cover. */
  lookaheadMs: number;
  /** Leases the loader stops at; registrations inside the window can still add more. */
  maxLoaded: number;
  /** Index entries read per storage listing. */
  pageSize: number;
}

/**
 * The part of the persisted expiry index that is held in memory, so that a server with a million
 * leases keeps only the next few minutes of them in memory and starts serving without reading the
 * rest.
 *
 * The index (`expiry/<minute>/<time>_<id>`) sorts by time. `loadedThrough` is a position in it:
 * every scheduled lease at or before it is in memory, and the loader walks forward from it page by
 * page. A lease scheduled while a page is being listed is remembered and added once the listing
 * returns, because the listing may or may not have seen it. Entries loaded here can be stale (the
 * lease was renewed or revoked since); the manager checks the stored lease before acting.
 */
export class ExpirySchedule {
  private readonly times = new Map<string, number>();
  private readonly heap: Array<{ time: number; leaseId: string }> = [];
  private loadedThrough = '';
  private loading: Promise<void> | null = null;
  private writtenDuringLoad: Array<{ time: number; leaseId: string }> | null = null;

  constructor(
    private readonly storage: Storage,
    private readonly limits: ScheduleLimits,
  ) {}

  /** Leases held in memory. */
  get size(): number {
    return this.times.size;
  }

  /** Records that a lease is scheduled at `time`, keeping it in memory when it falls in the window. */
  track(leaseId: string, time: number): void {
    if (this.writtenDuringLoad) this.writtenDuringLoad.push({ time, leaseId });
    if (expiryPosition(time, leaseId) <= this.loadedThrough) this.add(leaseId, time);
  }

  untrack(leaseId: string): void {
    if (!this.times.delete(leaseId)) return;
    // Superseded heap entries normally leave when they reach the top; rebuild the heap when a mass
    // revocation has left it mostly stale.
    if (this.heap.length > 1024 && this.heap.length > 4 * this.times.size) this.rebuildHeap();
  }

  /** Milliseconds since the epoch of the earliest lease in memory, or null when none is. */
  nextTime(): number | null {
    this.dropStaleTop();
    return this.heap.length > 0 ? this.heap[0].time : null;
  }

  /** Removes and returns up to `max` leases scheduled at or before `now`, earliest first. */
  takeDue(now: number, max: number): Array<{ leaseId: string; time: number }> {
    const due: Array<{ leaseId: string; time: number }> = [];
    while (due.length < max) {
      this.dropStaleTop();
      const top = this.heap[0];
      if (top === undefined || top.time > now) break;
      this.pop();
      this.times.delete(top.leaseId);
      due.push(top);
    }
    return due;
  }

  /** True when the loader should read more of the index at time `now`. */
  needsLoad(now: number): boolean {
    return this.times.size < this.limits.maxLoaded && this.loadedThrough < timeBound(now + this.limits.lookaheadMs);
  }

  /**
   * Reads index pages until the window covers `now + lookahead` or holds `maxLoaded` leases.
   * Concurrent calls share one run.
   */
  load(now: () => number): Promise<void> {
    this.loading ??= this.loadPages(now).finally(() => {
      this.loading = null;
    });
    return this.loading;
  }

  private async loadPages(now: () => number): Promise<void> {
    while (this.needsLoad(now())) {
      const target = timeBound(now() + this.limits.lookaheadMs);
      this.writtenDuringLoad = [];
      try {
        this.loadedThrough = await this.loadPage(target);
      } finally {
        const written = this.writtenDuringLoad;
        this.writtenDuringLoad = null;
        for (const { leaseId, time } of written) this.track(leaseId, time);
      }
    }
  }

  /** Reads one listing after `loadedThrough` and returns the new `loadedThrough`. */
  private async loadPage(target: string): Promise<string> {
    const through = this.loadedThrough;
    const slash = through.indexOf('/');
    const bucket = slash === -1 ? '' : through.slice(0, slash);
    const rest = slash === -1 ? '' : through.slice(slash + 1);

    // Inside a bucket: read its next page of leases.
    if (bucket !== '' && rest !== '~') {
      const names = await this.storage.list(`${EXPIRY_PREFIX}${bucket}/`, { after: rest, limit: this.limits.pageSize });
      for (const name of names) {
        const parsed = parseExpiryName(name);
        if (parsed) this.add(parsed.leaseId, parsed.time);
      }
      return names.length < this.limits.pageSize ? `${bucket}/~` : `${bucket}/${names[names.length - 1]}`;
    }

    // Between buckets: find the next one. When none exists before the target's bucket, nothing is
    // scheduled before the target, so the window reaches it at once.
    const next = await this.storage.list(EXPIRY_PREFIX, { after: bucket === '' ? '' : `${bucket}/`, limit: 1 });
    const nextBucket = next.length > 0 && next[0].endsWith('/') ? next[0].slice(0, -1) : null;
    if (nextBucket === null || `${nextBucket}/` > target) return target > through ? target : through;
    return `${nextBucket}/`;
  }

  private add(leaseId: string, time: number): void {
    if (this.times.get(leaseId) === time) return;
    this.times.set(leaseId, time);
    this.push({ time, leaseId });
  }

  // The heap keeps superseded entries until they reach the top; `times` says which are current.
  private dropStaleTop(): void {
    while (this.heap.length > 0 && this.times.get(this.heap[0].leaseId) !== this.heap[0].time) this.pop();
  }

  private rebuildHeap(): void {
    this.heap.length = 0;
    for (const [leaseId, time] of this.times) this.push({ time, leaseId });
  }

  private push(item: { time: number; leaseId: string }): void {
    const heap = this.heap;
    heap.push(item);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent].time <= item.time) break;
      heap[i] = heap[parent];
      i = parent;
    }
    heap[i] = item;
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop();
    if (last === undefined || heap.length === 0) return;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && heap[right].time < heap[left].time ? right : left;
      if (heap[child].time >= last.time) break;
      heap[i] = heap[child];
      i = child;
    }
    heap[i] = last;
  }
}
