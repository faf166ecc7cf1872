import type { SessionState } from '@lantern/protocol';

import { runCommand, type CommandRunner } from '../command-runner.ts';
import { accountName, PollingSessionSource } from '../session-poller.ts';
import type { SessionInfo } from '../source.ts';
import type { Timers } from '../timers.ts';

const IOREG_TIMEOUT_MS = 5_000;

/** One login session in the `IOConsoleUsers` list of the IORegistry's root. */
export interface ConsoleUser {
  readonly userName: string | null;
  readonly uid: number | null;
  /** Whether this session is the one on the screen (others are switched out by fast user switching). */
  readonly onConsole: boolean;
  /** `CGSSessionScreenIsLocked`: the session's screen is locked. */
  readonly locked: boolean;
}

/** What `ioreg -n Root -d1` says about the console. */
export interface ConsoleState {
  /** null when the output has no `IOConsoleUsers` (not the root's output). */
  readonly users: readonly ConsoleUser[] | null;
  /** The root's `IOConsoleLocked` (macOS 11 and later), for the session on the console; null when absent. */
  readonly consoleLocked: boolean | null;
}

/**
 * `ioreg -w0 -n Root -d1` output → the console's login sessions. The root's properties are
 * printed one a line, the sessions as a list of dictionaries on one line:
 *
 *     "IOConsoleLocked" = No
 *     "IOConsoleUsers" = ({"kCGSSessionOnConsoleKey"=Yes,"kCGSSessionUserNameKey"="pupil1",…})
 */
export function parseIoregConsole(output: string): ConsoleState {
  const lockedLine = /^\s*\|?\s*"IOConsoleLocked" = (Yes|No)\s*$/m.exec(output);
  const usersLine = /^\s*\|?\s*"IOConsoleUsers" = \((.*)\)\s*$/m.exec(output);
  return {
    users: usersLine ? splitTopLevel(usersLine[1] ?? '', '{', '}').map(parseConsoleUser) : null,
    consoleLocked: lockedLine ? lockedLine[1] === 'Yes' : null,
  };
}

/** The `{…}` groups of `text` at depth 0, without their braces, skipping quoted text. */
function splitTopLevel(text: string, open: string, close: string): string[] {
  const groups: string[] = [];
  let depth = 0;
  let start = -1;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quoted) {
      if (char === '\\') i++;
      else if (char === '"') quoted = false;
    } else if (char === '"') quoted = true;
    else if (char === open) {
      if (depth === 0) start = i + 1;
      depth++;
    } else if (char === close && depth > 0) {
      depth--;
      if (depth === 0) groups.push(text.slice(start, i));
    }
  }
  return groups;
}

/** `"key"=value,"key"=value` → the session. */
function parseConsoleUser(dictionary: string): ConsoleUser {
  const values = new Map<string, string>();
  for (const pair of dictionary.matchAll(/"([^"]+)"=("(?:[^"\\]|\\.)*"|[^,]*)/g)) {
    const raw = pair[2] ?? '';
    values.set(pair[1] ?? '', raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw);
  }
  const uid = Number(values.get('kCGSSessionUserIDKey'));
  return {
    userName: values.get('kCGSSessionUserNameKey') || null,
    uid: Number.isSafeInteger(uid) ? uid : null,
    onConsole: values.get('kCGSSessionOnConsoleKey') === 'Yes',
    locked: values.get('CGSSessionScreenIsLocked') === 'Yes',
  };
}

/**
 * The agent's own session (the one of `uid`, or when uid is unknown the one on the console)
 * → its state: `locked` when its screen is locked, `switched_out` when another session is on
 * the console, `logged_out` when it is no longer in the list, else `active`. null when the
 * output could not be read.
 */
export function macSessionInfo(
  consoleState: ConsoleState,
  uid: number | null,
  fallbackName: string | null,
): SessionInfo | null {
  if (consoleState.users === null) return null;
  const own =
    uid === null
      ? consoleState.users.find((user) => user.onConsole)
      : consoleState.users.find((user) => user.uid === uid);
  if (own === undefined) return { loginName: fallbackName, state: 'logged_out' };
  let state: SessionState = 'active';
  if (own.locked || (own.onConsole && consoleState.consoleLocked === true)) state = 'locked';
  else if (!own.onConsole) state = 'switched_out';
  return { loginName: own.userName ?? fallbackName, state };
}

export interface MacSessionSourceOptions {
  /** How often the session is read, in ms. Default 2,000. */
  readonly pollIntervalMs?: number;
  readonly timers?: Timers;
  /** Runs `ioreg`; tests pass one that answers with recorded output. */
  readonly run?: CommandRunner;
  /** The agent's user id, to find its session; default `process.getuid()`. */
  readonly uid?: number | null;
}

/**
 * Who is logged in on macOS, and whether their session is active, locked, switched out or
 * gone, from one `ioreg -w0 -n Root -d1` every 2 s (~20 ms): the IORegistry root lists each
 * login session with its user, whether it is on the console, and whether its screen is
 * locked. `stat -f%Su /dev/console` would name only the user on the console, not the state
 * of the agent's own session.
 */
export class MacSessionSource extends PollingSessionSource {
  constructor(options: MacSessionSourceOptions = {}) {
    const run = options.run ?? runCommand;
    const uid = options.uid === undefined ? (process.getuid?.() ?? null) : options.uid;
    // Once the session has gone from the list its name is too: the last one seen stands in.
    let knownName = accountName();
    super({
      pollIntervalMs: options.pollIntervalMs,
      timers: options.timers,
      read: async (signal) => {
        const result = await run('ioreg', ['-w0', '-n', 'Root', '-d1'], {
          timeoutMs: IOREG_TIMEOUT_MS,
          maxStdoutBytes: 4 * 1024 * 1024,
          signal,
        });
        if (!result.ok) return null;
        const consoleState = parseIoregConsole(result.stdout.toString('utf8'));
        const info = macSessionInfo(consoleState, uid, knownName);
        if (info?.loginName) knownName = info.loginName;
        return info;
      },
    });
  }
}
