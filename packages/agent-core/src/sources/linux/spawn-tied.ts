import {
  spawn,
  type ChildProcessByStdio,
  type SpawnOptionsWithStdioTuple,
  type StdioNull,
  type StdioPipe,
} from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { Readable } from 'node:stream';

/** The executable `name` on PATH, or null. */
function onPath(name: string, path: string): string | null {
  for (const dir of path.split(delimiter)) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

let setprivPath: string | null | undefined;

/**
 * Start a long-lived helper, reading its output, (an `xprop -spy`, a selection watcher) that dies with the agent:
 * through `setpriv --pdeathsig KILL`, the kernel kills it when the agent's process ends,
 * even by SIGKILL, which runs no JavaScript to stop it. Without setpriv it is spawned
 * plainly, and a killed agent's helper lives on until its X server goes or its window does.
 */
export function spawnTied(
  file: string,
  args: readonly string[],
  options: SpawnOptionsWithStdioTuple<StdioNull, StdioPipe, StdioNull>,
): ChildProcessByStdio<null, Readable, null> {
  // Looked up on the PATH the command will run with, as spawn itself would.
  const path = options.env?.PATH ?? process.env.PATH ?? '/usr/bin:/bin';
  setprivPath ??= onPath('setpriv', path);
  const command = onPath(file, path);
  // A missing command is spawned as it is, so the caller sees ENOENT as with spawn itself.
  return setprivPath === null || command === null
    ? spawn(file, args, options)
    : spawn(setprivPath, ['--pdeathsig', 'KILL', '--', command, ...args], options);
}
