import type { Timers } from '../sources/timers.ts';
import { waitFor } from './x11.ts';

/**
 * Timers a test fires by hand, for sources that poll: `poll()` runs the pending poll and
 * resolves once the source has scheduled the next one, i.e. once that poll has finished.
 */
export class ManualTimers implements Timers {
  #pending = new Map<symbol, () => void>();

  setTimeout(callback: () => void, _ms: number): unknown {
    const handle = Symbol('timer');
    this.#pending.set(handle, callback);
    return handle;
  }

  clearTimeout(handle: unknown): void {
    if (typeof handle === 'symbol') this.#pending.delete(handle);
  }

  /** Whether a poll is waiting to be fired. */
  get scheduled(): boolean {
    return this.#pending.size > 0;
  }

  /** Fire the pending poll and wait until it has finished (the next one is scheduled). */
  async poll(): Promise<void> {
    const due = [...this.#pending.values()];
    if (due.length === 0) throw new Error('no poll is scheduled: was the source started?');
    this.#pending.clear();
    for (const callback of due) callback();
    await waitFor('the poll finishes and the next one is scheduled', () => this.scheduled);
  }
}
