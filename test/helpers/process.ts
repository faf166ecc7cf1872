import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = dirname(dirname(dirname(fileURLToPath(import.meta.url))));

/** A built program of the workspace; fails loudly if `pnpm build` has not been run. */
export function builtProgram(relativePath: string): string {
  const path = join(REPO_ROOT, relativePath);
  if (!existsSync(path)) {
    throw new Error(
      `${relativePath} is not built: run \`pnpm build\` (npm test does) before the e2e tests.`,
    );
  }
  return path;
}

/** A child process whose output is collected, with a way to wait for a line. */
export interface RunningProcess {
  readonly child: ChildProcessWithoutNullStreams;
  output(): string;
  /** Resolve with the first match of `pattern` in stdout+stderr; reject if the process exits first or on timeout. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resolve with the exit code (or signal name) once the process ends by itself. */
  exited(): Promise<number | string>;
  /** Send a signal and resolve with the exit code (or signal name). */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

export function startNode(
  script: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): RunningProcess {
  const child = spawn(process.execPath, [script, ...args], { env, stdio: 'pipe' });
  let output = '';
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    for (const listener of listeners) listener();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;

  return {
    child,
    output: () => output,
    waitFor: (pattern, timeoutMs = 30_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const match = output.match(pattern);
          if (match) {
            cleanup();
            resolve(match);
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(
            new Error(
              `timed out after ${timeoutMs} ms waiting for ${pattern}; output so far:\n${output}`,
            ),
          );
        }, timeoutMs);
        const onExit = () => {
          cleanup();
          reject(new Error(`process exited before printing ${pattern}; output:\n${output}`));
        };
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(check);
          child.off('exit', onExit);
        };
        listeners.add(check);
        child.once('exit', onExit);
        check();
      }),
    exited: async () => {
      const [code, killedBy] = await exited;
      return code ?? killedBy ?? 'unknown';
    },
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const [code, killedBy] = await exited;
      return code ?? killedBy ?? 'unknown';
    },
  };
}
