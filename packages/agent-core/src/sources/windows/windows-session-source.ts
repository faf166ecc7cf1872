import type { SessionState } from '@lantern/protocol';

import { runCommand, type CommandRunner } from '../command-runner.ts';
import { accountName, PollingSessionSource } from '../session-poller.ts';
import type { SessionInfo } from '../source.ts';
import type { Timers } from '../timers.ts';

const TOOL_TIMEOUT_MS = 10_000;

/** One session in `quser` (`query user`) output. */
export interface QuserSession {
  /** The `>` mark: the session of the process that ran quser. */
  readonly current: boolean;
  readonly userName: string;
  /** `console`, `rdp-tcp#3`…; empty for a disconnected session. */
  readonly sessionName: string;
  readonly id: number;
  /** `Active`, `Disc`… (translated on Windows in other languages). */
  readonly state: string;
}

/**
 * `quser` output → its sessions. quser prints fixed-width columns under a header:
 *
 *      USERNAME              SESSIONNAME        ID  STATE   IDLE TIME  LOGON TIME
 *     >pupil1                console             1  Active      none   14/01/2025 08:45
 *      olduser                                   3  Disc        1:02  14/01/2025 07:30
 *
 * The user name is read from its column (a name may hold spaces), the rest by words from
 * where the session name column starts, which the header gives (the headers are translated,
 * the columns are not).
 */
export function parseQuser(output: string): QuserSession[] {
  const lines = output.split(/\r?\n/).filter((line) => line.trim() !== '');
  const header = lines.shift();
  if (header === undefined) return [];
  const sessionColumn = /^\s*\S+\s+/.exec(header)?.[0].length ?? 23;
  const sessions: QuserSession[] = [];
  for (const line of lines) {
    const match = /^(\S*)\s+(\d+)\s+(\S+)/.exec(line.slice(sessionColumn));
    const userName = line.slice(1, sessionColumn).trim();
    if (match === null || userName === '') continue;
    sessions.push({
      current: line.startsWith('>'),
      userName,
      sessionName: match[1] ?? '',
      id: Number(match[2]),
      state: match[3] ?? '',
    });
  }
  return sessions;
}

/** One process in `tasklist /FO CSV /NH` output. */
export interface TasklistProcess {
  readonly image: string;
  readonly pid: number;
  readonly sessionName: string;
  readonly session: number;
}

/**
 * `tasklist /FO CSV /NH` output → its processes: `"LogonUI.exe","1234","Console","1","45,312 K"`
 * per line. With no match tasklist prints an `INFO:` line instead, which yields none.
 */
export function parseTasklistCsv(output: string): TasklistProcess[] {
  const processes: TasklistProcess[] = [];
  for (const line of output.split(/\r?\n/)) {
    const fields = [...line.matchAll(/"((?:[^"]|"")*)"/g)].map((m) =>
      (m[1] ?? '').replaceAll('""', '"'),
    );
    const [image, pid, sessionName, session] = fields;
    if (image === undefined || !/^\d+$/.test(pid ?? '') || !/^\d+$/.test(session ?? '')) continue;
    processes.push({
      image,
      pid: Number(pid),
      sessionName: sessionName ?? '',
      session: Number(session),
    });
  }
  return processes;
}

/** quser's word for a connected session, in the languages schools are likely to run. */
const ACTIVE_STATES = new Set(['active', 'aktiv', 'actif', 'activo', 'attivo', 'actief']);

/**
 * The session's state: `locked` while LogonUI runs in it (Windows starts LogonUI for the
 * lock screen and ends it at unlock), `switched_out` when quser shows it not connected
 * (another user has the console: fast user switching, or a remote session that was left),
 * else `active`.
 */
export function windowsSessionState(
  session: QuserSession | null,
  logonUiRunning: boolean,
): SessionState {
  if (session !== null && !ACTIVE_STATES.has(session.state.toLowerCase())) return 'switched_out';
  if (logonUiRunning) return 'locked';
  return 'active';
}

export interface WindowsSessionSourceOptions {
  /** How often the session is read, in ms. Default 2,000. */
  readonly pollIntervalMs?: number;
  readonly timers?: Timers;
  /** Runs `tasklist` and `quser`; tests pass one that answers with recorded output. */
  readonly run?: CommandRunner;
  /** This process's id, to find its session; default `process.pid`. */
  readonly pid?: number;
}

/** Where the state comes from: quser and LogonUI, LogonUI only (Windows Home has no quser), or nothing. */
export type WindowsLockDetection = 'quser+logonui' | 'logonui' | 'none';

/**
 * Reads the agent's own Windows session: `tasklist` finds which session that is, once; each
 * reading then runs `quser` (the session's state) and `tasklist` (whether LogonUI, the lock
 * screen, runs in it).
 */
export class WindowsSessionReader {
  readonly #run: CommandRunner;
  readonly #pid: number;
  readonly #loginName = accountName();
  #sessionId: number | null | undefined;
  #lockDetection: WindowsLockDetection = 'none';

  constructor(options: Pick<WindowsSessionSourceOptions, 'run' | 'pid'> = {}) {
    this.#run = options.run ?? runCommand;
    this.#pid = options.pid ?? process.pid;
  }

  /** What the last reading could see. */
  get lockDetection(): WindowsLockDetection {
    return this.#lockDetection;
  }

  async read(signal: AbortSignal): Promise<SessionInfo | null> {
    const text = async (file: string, args: readonly string[]): Promise<string | null> => {
      const result = await this.#run(file, args, {
        timeoutMs: TOOL_TIMEOUT_MS,
        maxStdoutBytes: 1024 * 1024,
        signal,
      });
      return result.ok ? result.stdout.toString('utf8') : null;
    };
    const pid = this.#pid;
    if (this.#sessionId === undefined) {
      const own = await text('tasklist', ['/FO', 'CSV', '/NH', '/FI', `PID eq ${pid}`]);
      // Asked again next time when tasklist did not answer.
      if (own !== null) {
        this.#sessionId = parseTasklistCsv(own).find((p) => p.pid === pid)?.session ?? null;
      }
    }
    const id = this.#sessionId ?? null;
    const [quser, logonUi] = await Promise.all([
      text('quser', []),
      id === null
        ? null
        : text('tasklist', [
            '/FO',
            'CSV',
            '/NH',
            '/FI',
            'IMAGENAME eq LogonUI.exe',
            '/FI',
            `SESSION eq ${id}`,
          ]),
    ]);
    const sessions = quser === null ? null : parseQuser(quser);
    const own =
      sessions?.find((session) => session.id === id) ??
      sessions?.find((session) => session.current) ??
      null;
    this.#lockDetection = logonUi === null ? 'none' : own === null ? 'logonui' : 'quser+logonui';
    if (own === null && logonUi === null) return null;
    const logonUiRunning =
      logonUi !== null &&
      parseTasklistCsv(logonUi).some((p) => p.image.toLowerCase() === 'logonui.exe');
    return { loginName: this.#loginName, state: windowsSessionState(own, logonUiRunning) };
  }
}

/**
 * Who is logged in on Windows, and whether their session is active, locked or switched out,
 * from tools every Windows has (`WindowsSessionReader`), polled every 2 s. The login name is
 * the account the agent runs as (`os.userInfo()`: exact, where quser prints names in the
 * console's code page).
 *
 * Not detected: logging out (Windows ends the agent with the session; the Electron shell
 * reports it from `powerMonitor`), and on Windows Home, which has no quser, switching users.
 * See README.md.
 */
export class WindowsSessionSource extends PollingSessionSource {
  readonly #reader: WindowsSessionReader;

  constructor(options: WindowsSessionSourceOptions = {}) {
    const reader = new WindowsSessionReader(options);
    super({
      read: (signal) => reader.read(signal),
      pollIntervalMs: options.pollIntervalMs,
      timers: options.timers,
    });
    this.#reader = reader;
  }

  /** What the last reading could see (see `WindowsLockDetection`); `none` until started. */
  get lockDetection(): WindowsLockDetection {
    return this.#reader.lockDetection;
  }
}
