/**
 * How sources run the platform's short-lived tools (`reg`, `quser`, `tasklist`, `pbpaste`,
 * `ioreg`, `defaults`, `osascript`, `xclip`…): one function, so tests of code that can only
 * run on Windows or macOS replace it with one that answers with recorded, real-format output.
 */
import type { runCommand } from './linux/run-command.ts';

export { runCommand, type CommandResult, type RunCommandOptions } from './linux/run-command.ts';

/** `runCommand`'s signature: run a program without a shell, bounded in time and size; never rejects. */
export type CommandRunner = typeof runCommand;

/** The text a command printed, or null when it did not run or exited non-zero. */
export async function commandText(
  run: CommandRunner,
  file: string,
  args: readonly string[],
  options: { readonly timeoutMs: number; readonly env?: NodeJS.ProcessEnv },
): Promise<string | null> {
  const result = await run(file, args, {
    timeoutMs: options.timeoutMs,
    maxStdoutBytes: 1024 * 1024,
    ...(options.env ? { env: options.env } : {}),
  });
  return result.ok ? result.stdout.toString('utf8') : null;
}
