import { userInfo } from 'node:os';

import type { SessionState, SourceState } from '@lantern/protocol';

import { deliver } from '../deliver.ts';
import type { SourceFailure } from '../errors.ts';
import type { SessionInfo, SessionSource } from '../source.ts';
import { realTimers, type Timers } from '../timers.ts';
import { runCommand } from './run-command.ts';

export interface LinuxSessionSourceOptions {
  /** How often logind is asked, in ms. Default 2,000. */
  readonly pollIntervalMs?: number;
  /** The loginctl program (a path, for tests). Default `loginctl` from PATH. */
  readonly loginctl?: string;
  /** The logind session to watch. Default `$XDG_SESSION_ID`, else `auto` (this process's session, or the user's graphical one). */
  readonly sessionId?: string;
  /** Timers for the polling; tests pass their own to run one poll at a time. */
  readonly timers?: Timers;
}

/** Where the session state comes from: systemd-logind, or nothing (then always `active`). */
export type LockDetection = 'logind' | 'none';

const DEFAULT_POLL_INTERVAL_MS = 2_000;
const LOGINCTL_TIMEOUT_MS = 5_000;

/** What logind says about a session (`loginctl show-session -p …`). */
export interface LogindSession {
  readonly name: string | null;
  readonly active: boolean;
  readonly locked: boolean;
  /** `online`, `active` or `closing`. */
  readonly state: string | null;
}

/**
 * Who is logged in, and whether their session is active, locked, switched out or ending.
 *
 * With systemd-logind (`loginctl show-session`, polled every 2 s): `State=closing` →
 * `logged_out`; `LockedHint=yes` → `locked`; `Active=no` → `switched_out` (another
 * session is in front on the seat); otherwise `active`. The login name is the session's
 * `Name`. `LockedHint` is set by the desktop's locker through logind: GNOME, KDE, Cinnamon,
 * MATE and light-locker do; a bare `xscreensaver`/`i3lock` does not, so there a locked screen
 * reads as `active`.
 *
 * Without logind (containers, non-systemd distributions), or when the process is not in a
 * logind session, nothing tells a locked or switched-out session apart: the state is always
 * `active`, `lockDetection` is `none`, and the login name is the account the agent runs as
 * (`os.userInfo()`), which is the pupil's when the agent runs in their session.
 *
 * Emits a `SessionInfo` at start and whenever it changes.
 */
export class LinuxSessionSource implements SessionSource {
  readonly #pollIntervalMs: number;
  readonly #loginctl: string;
  readonly #sessionId: string;
  #state: SourceState = 'stopped';
  #lockDetection: LockDetection = 'none';
  readonly #timers: Timers;
  #timer: unknown = null;
  #abort: AbortController | null = null;
  #inFlight: Promise<void> | null = null;

  constructor(options: LinuxSessionSourceOptions = {}) {
    this.#pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    this.#loginctl = options.loginctl ?? 'loginctl';
    this.#sessionId = options.sessionId ?? (process.env['XDG_SESSION_ID'] || 'auto');
    this.#timers = options.timers ?? realTimers;
  }

  get state(): SourceState {
    return this.#state;
  }

  /** Never set: without logind the source still runs, reporting `active` (see `lockDetection`). */
  get error(): SourceFailure | null {
    return null;
  }

  /** Whether locked and switched-out sessions can be told apart here (known after `start()`). */
  get lockDetection(): LockDetection {
    return this.#lockDetection;
  }

  async start(onEvent: (session: SessionInfo) => void): Promise<void> {
    if (this.#state === 'running' || this.#state === 'starting') return;
    this.#state = 'starting';
    const abort = new AbortController();
    this.#abort = abort;
    const fallbackName = accountName();
    let last: SessionInfo | null = null;

    const readAndEmit = async (): Promise<LogindSession | null> => {
      const session = await readLogindSession(this.#loginctl, this.#sessionId, abort.signal);
      if (abort.signal.aborted) return session;
      // A logind that answered before and fails now (restarting) keeps the last state.
      if (session === null && last !== null && this.#lockDetection === 'logind') return session;
      const info: SessionInfo = {
        loginName: session?.name ?? fallbackName,
        state: session ? sessionStateOf(session) : 'active',
      };
      if (last?.loginName !== info.loginName || last.state !== info.state) {
        last = info;
        deliver(onEvent, info);
      }
      return session;
    };

    const firstRead = readAndEmit();
    this.#inFlight = firstRead.then(() => undefined);
    const first = await firstRead;
    if (abort.signal.aborted) return;
    this.#lockDetection = first === null ? 'none' : 'logind';
    this.#state = 'running';
    // Without logind there is nothing that could change: no polling.
    if (first === null) return;

    const schedule = (): void => {
      if (abort.signal.aborted) return;
      this.#timer = this.#timers.setTimeout(() => {
        this.#inFlight = readAndEmit().then(schedule);
      }, this.#pollIntervalMs);
    };
    schedule();
  }

  async stop(): Promise<void> {
    this.#abort?.abort();
    this.#abort = null;
    if (this.#timer !== null) this.#timers.clearTimeout(this.#timer);
    this.#timer = null;
    const inFlight = this.#inFlight;
    this.#inFlight = null;
    await inFlight;
    this.#state = 'stopped';
  }
}

/** The account this process runs as, or null when it has no passwd entry. */
function accountName(): string | null {
  try {
    return userInfo().username || null;
  } catch {
    // A uid without a passwd entry (some containers): no name to report.
    return null;
  }
}

/** Ask logind about a session; null when logind is not there or does not know the session. */
export async function readLogindSession(
  loginctl: string,
  sessionId: string,
  signal?: AbortSignal,
): Promise<LogindSession | null> {
  const result = await runCommand(
    loginctl,
    [
      'show-session',
      sessionId,
      '--property=Name',
      '--property=Active',
      '--property=LockedHint',
      '--property=State',
    ],
    {
      timeoutMs: LOGINCTL_TIMEOUT_MS,
      maxStdoutBytes: 64 * 1024,
      env: { ...process.env, LC_ALL: 'C', SYSTEMD_PAGER: '' },
      ...(signal ? { signal } : {}),
    },
  );
  if (!result.ok) return null;
  return parseLogindSession(result.stdout.toString('utf8'));
}

/** `loginctl show-session -p …` output (`Key=value` lines) → the session, or null if it has no `Active`. */
export function parseLogindSession(output: string): LogindSession | null {
  const values = new Map<string, string>();
  for (const line of output.split('\n')) {
    const equals = line.indexOf('=');
    if (equals > 0) values.set(line.slice(0, equals).trim(), line.slice(equals + 1).trim());
  }
  const active = values.get('Active');
  if (active === undefined) return null;
  return {
    name: values.get('Name') || null,
    active: active === 'yes',
    locked: values.get('LockedHint') === 'yes',
    state: values.get('State') || null,
  };
}

/** logind's view of a session → the protocol's SessionState. */
export function sessionStateOf(session: LogindSession): SessionState {
  if (session.state === 'closing') return 'logged_out';
  if (session.locked) return 'locked';
  if (!session.active) return 'switched_out';
  return 'active';
}
