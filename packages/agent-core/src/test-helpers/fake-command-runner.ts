/**
 * A stand-in for `runCommand`, for sources whose tools exist only on Windows or macOS
 * (quser, tasklist, reg, pbpaste, ioreg…): each program answers with what the test set,
 * recorded in the format the real tool prints. It behaves like `runCommand` at its edges:
 * output past `maxStdoutBytes` is cut and flagged `truncated`, and an aborted signal ends the
 * call as a timeout.
 */
import type { CommandResult, CommandRunner, RunCommandOptions } from '../sources/command-runner.ts';

/** What a program does when run: print `stdout` and exit 0, or fail as runCommand reports it. */
export type FakeAnswer =
  | { readonly stdout: string | Uint8Array }
  | {
      readonly fail: 'not_found' | 'failed' | 'timeout';
      readonly exitCode?: number;
      readonly stderr?: string;
    };

export interface FakeCall {
  readonly file: string;
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv | undefined;
}

export class FakeCommandRunner {
  readonly calls: FakeCall[] = [];
  readonly #answers = new Map<string, (args: readonly string[]) => FakeAnswer>();

  /** From now on, running `file` gives `answer` (or what `answer(args)` returns). Programs never set are not found. */
  answer(file: string, answer: FakeAnswer | ((args: readonly string[]) => FakeAnswer)): void {
    this.#answers.set(file, typeof answer === 'function' ? answer : () => answer);
  }

  /** The calls made to `file`, as command lines. */
  callsTo(file: string): string[] {
    return this.calls.filter((call) => call.file === file).map((call) => call.args.join(' '));
  }

  readonly run: CommandRunner = async (
    file: string,
    args: readonly string[],
    options: RunCommandOptions,
  ): Promise<CommandResult> => {
    this.calls.push({ file, args: [...args], env: options.env });
    // Answer on a later turn, as a real process would.
    await Promise.resolve();
    if (options.signal?.aborted)
      return { ok: false, reason: 'timeout', exitCode: null, stderr: '' };
    const answer = this.#answers.get(file)?.(args) ?? { fail: 'not_found' };
    if ('fail' in answer) {
      return {
        ok: false,
        reason: answer.fail,
        exitCode: answer.fail === 'failed' ? (answer.exitCode ?? 1) : null,
        stderr: answer.stderr ?? '',
      };
    }
    const bytes = Buffer.from(
      typeof answer.stdout === 'string' ? Buffer.from(answer.stdout, 'utf8') : answer.stdout,
    );
    if (bytes.length >= options.maxStdoutBytes) {
      return { ok: true, stdout: bytes.subarray(0, options.maxStdoutBytes), truncated: true };
    }
    return { ok: true, stdout: bytes, truncated: false };
  };
}
