import type { Timers } from './timers.ts';

/** What a poll tells the loop: poll again after the interval, or stop (the source has failed). */
export type PollOutcome = 'continue' | 'stop';

export interface PollLoopOptions {
  /** Time between the end of one poll and the start of the next, in ms. */
  readonly intervalMs: number;
  readonly timers: Timers;
  /**
   * One poll. `signal` is aborted by `stop()`: pass it to the I/O the poll does, and check
   * it before acting on what came back. Should not reject; a rejection is a bug in the
   * poll, rethrown outside the loop (as `deliver` does) and the loop stops.
   */
  readonly poll: (signal: AbortSignal) => Promise<PollOutcome>;
}

/**
 * The loop a polling source runs: a first poll at `start()`, awaited, so the source knows
 * whether it is running or failed before `start()` returns; then one poll `intervalMs` after
 * the end of the previous one, never two at once. `stop()` aborts the poll in flight, waits
 * for it to finish, and clears the timer. One loop per `start()`: a source makes a new loop
 * when it is started again.
 */
export class PollLoop {
  readonly #options: PollLoopOptions;
  readonly #abort = new AbortController();
  #timer: unknown = null;
  #inFlight: Promise<unknown> | null = null;

  constructor(options: PollLoopOptions) {
    this.#options = options;
  }

  /** Aborted once `stop()` is called. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /**
   * Run the first poll and resolve with its outcome (`stop` also when the loop was stopped
   * meanwhile); later polls are scheduled only after a `continue`.
   */
  async start(): Promise<PollOutcome> {
    const outcome = await this.#run();
    if (this.signal.aborted) return 'stop';
    if (outcome === 'continue') this.#schedule();
    return outcome;
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    if (this.#timer !== null) this.#options.timers.clearTimeout(this.#timer);
    this.#timer = null;
    await this.#inFlight;
  }

  #run(): Promise<PollOutcome> {
    const run = this.#options.poll(this.signal).catch((error: unknown): PollOutcome => {
      setImmediate(() => {
        throw error;
      });
      return 'stop';
    });
    this.#inFlight = run;
    return run;
  }

  #schedule(): void {
    if (this.signal.aborted) return;
    this.#timer = this.#options.timers.setTimeout(() => {
      this.#timer = null;
      void this.#run().then((outcome) => {
        if (outcome === 'continue') this.#schedule();
      });
    }, this.#options.intervalMs);
  }
}
