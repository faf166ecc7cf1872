import { spawn } from 'node:child_process';

/** What running a short-lived X tool (xdpyinfo, xclip, xwd…) gave. */
export type CommandResult =
  | {
      readonly ok: true;
      readonly stdout: Buffer;
      /** Output reached `maxStdoutBytes`: the rest was not read and the tool was stopped. */
      readonly truncated: boolean;
    }
  | {
      readonly ok: false;
      /** `not_found`: the program is not installed; `failed`: it exited non-zero; `timeout`: it was killed. */
      readonly reason: 'not_found' | 'failed' | 'timeout';
      readonly exitCode: number | null;
      /** The start of its stderr, for tests and debugging; may name X resources, never log it as content. */
      readonly stderr: string;
    };

export interface RunCommandOptions {
  readonly timeoutMs: number;
  /** Stop reading (and stop the tool) after this many bytes of stdout. */
  readonly maxStdoutBytes: number;
  readonly env?: NodeJS.ProcessEnv;
  readonly signal?: AbortSignal;
}

const STDERR_KEPT_BYTES = 2048;

/**
 * Run a program without a shell and collect its stdout, bounded in time and size. Never
 * rejects: every outcome is a `CommandResult`, so callers map failures to their own codes.
 */
export function runCommand(
  file: string,
  args: readonly string[],
  options: RunCommandOptions,
): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = spawn(file, args, {
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const chunks: Buffer[] = [];
    let stdoutBytes = 0;
    let truncated = false;
    let stderr = '';
    let timedOut = false;
    let settled = false;

    const finish = (result: CommandResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      resolve(result);
    };
    const onAbort = (): void => {
      timedOut = true;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(onAbort, options.timeoutMs);
    timer.unref();
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });

    child.stdout.on('data', (chunk: Buffer) => {
      if (truncated) return;
      const room = options.maxStdoutBytes - stdoutBytes;
      if (chunk.length >= room) {
        chunks.push(chunk.subarray(0, room));
        stdoutBytes += room;
        truncated = true;
        // Enough read: the tool may still be streaming (a huge clipboard), so stop it.
        child.kill('SIGTERM');
        return;
      }
      chunks.push(chunk);
      stdoutBytes += chunk.length;
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < STDERR_KEPT_BYTES) stderr += chunk.toString('utf8');
    });
    child.on('error', (error: NodeJS.ErrnoException) => {
      finish({
        ok: false,
        reason: error.code === 'ENOENT' ? 'not_found' : 'failed',
        exitCode: null,
        stderr: error.message,
      });
    });
    child.on('close', (exitCode) => {
      const kept = stderr.slice(0, STDERR_KEPT_BYTES);
      if (truncated) finish({ ok: true, stdout: Buffer.concat(chunks), truncated: true });
      else if (timedOut) finish({ ok: false, reason: 'timeout', exitCode, stderr: kept });
      else if (exitCode === 0)
        finish({ ok: true, stdout: Buffer.concat(chunks), truncated: false });
      else finish({ ok: false, reason: 'failed', exitCode, stderr: kept });
    });
  });
}

/** The environment for X tools: `DISPLAY` set when given, and a UTF-8 C locale so output parses the same everywhere. */
export function xToolEnv(display: string | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LC_ALL: 'C.UTF-8' };
  if (display !== undefined) env['DISPLAY'] = display;
  return env;
}
