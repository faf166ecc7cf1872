import { userInfo } from 'node:os';

import type { SourceState } from '@lantern/protocol';

import { deliver } from './deliver.ts';
import type { SourceFailure } from './errors.ts';
import { PollLoop } from './poll-loop.ts';
import type { SessionInfo, SessionSource } from './source.ts';
import { realTimers, type Timers } from './timers.ts';

export interface PollingSessionSourceOptions {
  /** One reading of the session; null when nothing could be read this time. */
  readonly read: (signal: AbortSignal) => Promise<SessionInfo | null>;
  /** How often the session is read, in ms. Default 2,000. */
  readonly pollIntervalMs?: number;
  /** Timers for the polling; tests pass their own to run one poll at a time. */
  readonly timers?: Timers;
}

export const DEFAULT_SESSION_POLL_INTERVAL_MS = 2_000;

/**
 * A session source that reads the platform's tools every `pollIntervalMs` and emits a
 * `SessionInfo` at start and whenever it changes. A reading that fails keeps the last state
 * (a tool that fails once must not flip the session to active); when the very first one
 * fails, the session is reported `active` for the account the agent runs as, which is the
 * pupil's when the agent runs in their session. Never fails: a platform that cannot tell
 * says so in its own `lockDetection`.
 */
export class PollingSessionSource implements SessionSource {
  readonly #read: (signal: AbortSignal) => Promise<SessionInfo | null>;
  readonly #pollIntervalMs: number;
  readonly #timers: Timers;
  #state: SourceState = 'stopped';
  #loop: PollLoop | null = null;

  constructor(options: PollingSessionSourceOptions) {
    this.#read = options.read;
    this.#pollIntervalMs = options.pollIntervalMs ?? DEFAULT_SESSION_POLL_INTERVAL_MS;
    this.#timers = options.timers ?? realTimers;
  }

  get state(): SourceState {
    return this.#state;
  }

  /** Never set: when the session cannot be read the source still runs, reporting `active`. */
  get error(): SourceFailure | null {
    return null;
  }

  async start(onEvent: (session: SessionInfo) => void): Promise<void> {
    if (this.#state === 'running' || this.#state === 'starting') return;
    this.#state = 'starting';
    let last: SessionInfo | null = null;
    const loop = new PollLoop({
      intervalMs: this.#pollIntervalMs,
      timers: this.#timers,
      poll: async (signal) => {
        const read = await this.#read(signal);
        if (signal.aborted) return 'stop';
        const info = read ?? (last === null ? { loginName: accountName(), state: 'active' } : null);
        if (info !== null && (last?.loginName !== info.loginName || last.state !== info.state)) {
          last = info;
          deliver(onEvent, info);
        }
        return 'continue';
      },
    });
    this.#loop = loop;
    const outcome = await loop.start();
    if (this.#loop === loop && outcome === 'continue') this.#state = 'running';
  }

  async stop(): Promise<void> {
    const loop = this.#loop;
    this.#loop = null;
    this.#state = 'stopped';
    await loop?.stop();
  }
}

/** The account this process runs as, or null when it has no name (a uid without a passwd entry). */
export function accountName(): string | null {
  try {
    return userInfo().username || null;
  } catch {
    // A uid without a passwd entry (some containers): no name to report.
    return null;
  }
}
