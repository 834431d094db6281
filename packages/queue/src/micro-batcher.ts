/**
 * Collects items from concurrent callers and hands them to `flush` in batches: a batch is sent
 * when it reaches `maxSize`, or `maxWaitMs` after its first item. Each caller's promise settles
 * with its own item's result once the whole batch has been handled, so a BullMQ job completes
 * only after its rows are committed.
 *
 * `flush` returns one result per item, in order; if it throws, every item of the batch rejects
 * with that error (the batch is one transaction, so none of it happened). Up to `maxInFlight`
 * batches run at once; more items wait, which is the back-pressure on the caller.
 */
export interface MicroBatcherOptions<T, R> {
  maxSize: number;
  maxWaitMs: number;
  maxInFlight?: number;
  flush: (items: T[]) => Promise<R[]>;
}

interface Pending<T, R> {
  item: T;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

export class MicroBatcher<T, R> {
  private queue: Pending<T, R>[] = [];
  private timer: NodeJS.Timeout | undefined;
  private inFlight = 0;
  private readonly idleWaiters: (() => void)[] = [];
  private readonly maxInFlight: number;

  constructor(private readonly options: MicroBatcherOptions<T, R>) {
    this.maxInFlight = options.maxInFlight ?? 2;
  }

  add(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (this.queue.length >= this.options.maxSize) this.drain();
      else if (this.timer === undefined) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.drain();
        }, this.options.maxWaitMs);
      }
    });
  }

  /** Items waiting or being flushed. */
  get size(): number {
    return this.queue.length;
  }

  /** Flushes everything queued and waits until no batch is in flight. */
  async close(): Promise<void> {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    while (this.queue.length > 0 || this.inFlight > 0) {
      this.drain();
      await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    }
  }

  private drain(): void {
    while (this.queue.length > 0 && this.inFlight < this.maxInFlight) {
      const batch = this.queue.splice(0, this.options.maxSize);
      this.inFlight += 1;
      void this.run(batch);
    }
    if (this.queue.length === 0 && this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  private async run(batch: Pending<T, R>[]): Promise<void> {
    try {
      const results = await this.options.flush(batch.map((pending) => pending.item));
      batch.forEach((pending, index) => pending.resolve(results[index] as R));
    } catch (error) {
      for (const pending of batch) pending.reject(error);
    } finally {
      this.inFlight -= 1;
      // Items that arrived while all slots were busy go now, without waiting for a timer.
      if (this.queue.length > 0) this.drain();
      if (this.inFlight === 0 && this.queue.length === 0) {
        for (const wake of this.idleWaiters.splice(0)) wake();
      } else if (this.inFlight < this.maxInFlight) {
        for (const wake of this.idleWaiters.splice(0)) wake();
      }
    }
  }
}
