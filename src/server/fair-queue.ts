// A bounded wait queue that serves its sources in turn: one source (an address flooding logins)
// cannot starve the others, however many entries it queues.
// BEHAVIOR: each source has its own FIFO, at most perSourceMax long; take() serves the sources
// round-robin, one entry each; the total is at most totalMax. add() answers false when either
// bound is reached (the caller refuses the work).

export class FairQueue<T> {
  private readonly bySource = new Map<string, T[]>();
  /** Sources with waiting entries, in the order they will be served next. */
  private readonly turn: string[] = [];
  private size = 0;

  constructor(
    private readonly perSourceMax: number,
    private readonly totalMax: number,
  ) {}

  get length(): number {
    return this.size;
  }

  add(source: string, item: T): boolean {
    if (this.size >= this.totalMax) return false;
    let q = this.bySource.get(source);
    if (q === undefined) {
      q = [];
      this.bySource.set(source, q);
      this.turn.push(source);
    }
    if (q.length >= this.perSourceMax) return false;
    q.push(item);
    this.size++;
    return true;
  }

  /** The next entry, from the source whose turn it is; undefined when empty. */
  take(): T | undefined {
    const source = this.turn.shift();
    if (source === undefined) return undefined;
    const q = this.bySource.get(source)!;
    const item = q.shift()!;
    this.size--;
    if (q.length > 0) this.turn.push(source);
    else this.bySource.delete(source);
    return item;
  }
}
