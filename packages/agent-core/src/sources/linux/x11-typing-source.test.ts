import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { run, uniqueTitle, waitFor, XServer } from '../../test-helpers/x11.ts';
import type { SourceFailure } from '../errors.ts';
import type { KeyboardLayout } from '../key-translator.ts';
import type { TextEdit } from '../source.ts';
import type { X11TypingSourceOptions } from './x11-typing-source.ts';

const CHILD = fileURLToPath(new URL('../../test-helpers/typing-source-child.ts', import.meta.url));
/** Run a TypeScript entry point the way the tests resolve workspace packages. */
const TS_NODE_ARGS = ['--conditions=@lantern/source', '--import', 'tsx'];

type ChildMessage =
  | { kind: 'started'; state: string; error: SourceFailure | null; layout: KeyboardLayout | null }
  | { kind: 'second'; state: string; error: SourceFailure | null }
  | { kind: 'edit'; edit: TextEdit };

// The source runs in a child process (see typing-source-child.ts for why); these tests
// drive the keyboard with xdotool and read the TextEdits the child reports.
describe('X11TypingSource', { timeout: 30_000 }, () => {
  let x: XServer;
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    x = await XServer.start();
    const window = await x.openWindow(uniqueTitle('typing'));
    await x.activate(window);
  }, 30_000);

  afterEach(async () => {
    await stopChild();
    await x.check('setxkbmap', ['us']);
    if (await capsLockOn()) await x.check('xdotool', ['key', 'Caps_Lock']);
  });

  afterAll(async () => {
    await stopChild();
    await x?.close();
  });

  async function capsLockOn(): Promise<boolean> {
    return /Caps Lock:\s+on/.test(await x.check('xset', ['q']));
  }

  /** Close the child's stdin (it stops the source and exits) and check it exited cleanly. */
  async function stopChild(): Promise<void> {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise<number | null>((resolve) =>
      running.once('exit', (code) => resolve(code)),
    );
    running.stdin?.end();
    expect(await exited).toBe(0);
  }

  async function startTyping(options: X11TypingSourceOptions & { second?: boolean } = {}) {
    const messages: ChildMessage[] = [];
    let stderr = '';
    const started = spawn(process.execPath, [...TS_NODE_ARGS, CHILD, JSON.stringify(options)], {
      env: { ...x.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    child = started;
    started.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    createInterface({ input: started.stdout }).on('line', (line) => {
      messages.push(JSON.parse(line) as ChildMessage);
    });
    const status = await waitFor(
      'the typing source reports that it started',
      () => {
        if (started.exitCode !== null)
          throw new Error(`the child exited (${started.exitCode}): ${stderr}`);
        return messages.find((m) => m.kind === 'started');
      },
      { timeoutMs: 20_000 },
    );
    const edits = (): TextEdit[] => messages.flatMap((m) => (m.kind === 'edit' ? [m.edit] : []));

    /**
     * Run xdotool commands, then press Enter and wait for its boundary: everything typed
     * before it has then arrived. Returns the edits the commands made (without that Enter).
     */
    const typed = async (...commands: (readonly string[])[]): Promise<TextEdit[]> => {
      const from = edits().length;
      for (const command of commands) await x.check('xdotool', command);
      const enters = edits().filter(isEnter).length;
      await x.check('xdotool', ['key', 'Return']);
      await waitFor('the closing Enter arrives', () => edits().filter(isEnter).length > enters, {
        detail: () => JSON.stringify(edits().slice(from)),
      });
      return edits().slice(from, -1);
    };
    return { status, messages, edits, typed };
  }

  it('types letters, capitals, digits and punctuation on the US layout', async () => {
    const { typed, status } = await startTyping();
    expect(status).toMatchObject({ state: 'running', error: null, layout: 'us' });
    const text = `Hello, World! 123 @#$%^&*()_+-=[]{};:'"\\|,./<>?\`~ end`;
    expect(textOf(await typed(['type', '--delay', '5', text]))).toBe(text);
  });

  it('reports Backspace, Delete, Tab, a click and Enter as edits and boundaries', async () => {
    const { typed } = await startTyping({ layout: 'us' });
    const edits = await typed(
      ['type', 'ab'],
      ['key', 'BackSpace'],
      ['key', 'Delete'],
      ['key', 'Tab'],
      ['click', '1'],
      ['key', 'Return'],
      ['type', 'c'],
    );
    expect(edits).toEqual([
      { kind: 'text', text: 'a' },
      { kind: 'text', text: 'b' },
      { kind: 'backspace' },
      { kind: 'delete' },
      { kind: 'boundary', reason: 'tab' },
      { kind: 'boundary', reason: 'click' },
      { kind: 'boundary', reason: 'enter' },
      { kind: 'text', text: 'c' },
    ]);
  });

  it('applies Caps Lock to letters only, with Shift inverting it', async () => {
    const { typed } = await startTyping();
    // xdotool presses Shift for "B" whatever Caps Lock is, as a person might: the field gets "Ab1".
    const edits = await typed(
      ['key', 'Caps_Lock'],
      ['type', 'aB1'],
      ['key', 'Caps_Lock'],
      ['type', 'a'],
    );
    expect(textOf(edits)).toBe('Ab1a');
  });

  it('reads Caps Lock as it is when the source starts', async () => {
    await x.check('xdotool', ['key', 'Caps_Lock']);
    expect(await capsLockOn()).toBe(true);
    const { typed } = await startTyping();
    expect(textOf(await typed(['type', 'ab']))).toBe('AB');
  });

  it('types the UK layout: " on Shift+2, @ on Shift+\', £, #, ~, ¬, the \\ key and AltGr €', async () => {
    await x.check('setxkbmap', ['gb']);
    const { typed, status } = await startTyping();
    expect(status).toMatchObject({ state: 'running', layout: 'uk' });
    const edits = await typed(
      // xdotool picks the same keys as a UK typist for these…
      ['type', '--delay', '5', '"£#~¬a'],
      // …but reaches @, \ and | through AltGr, so press the physical keys: ' (X keycode 48),
      // the key left of Z (94), and AltGr (108) with 4 (13).
      ['key', 'shift+48'],
      ['key', '94'],
      ['key', 'shift+94'],
      ['keydown', '108', 'key', '13', 'keyup', '108'],
    );
    expect(textOf(edits)).toBe('"£#~¬a@\\|€');
  });

  it('does not type shortcuts, and marks paste and arrow keys as caret boundaries', async () => {
    const { typed } = await startTyping();
    const edits = await typed(
      ['type', 'a'],
      ['key', 'ctrl+c'],
      ['key', 'ctrl+v'],
      ['key', 'Left'],
      ['type', 'b'],
    );
    expect(edits).toEqual([
      { kind: 'text', text: 'a' },
      { kind: 'boundary', reason: 'caret' },
      { kind: 'boundary', reason: 'caret' },
      { kind: 'text', text: 'b' },
    ]);
  });

  it('repeats a held key as the field does', async () => {
    const { edits, typed } = await startTyping();
    const from = edits().length;
    await x.check('xdotool', ['keydown', 'x']);
    try {
      // The X server's auto-repeat starts after its delay (660 ms by default).
      await waitFor('auto-repeat of the held key', () => edits().length - from >= 3);
    } finally {
      await x.check('xdotool', ['keyup', 'x']);
    }
    await typed();
    const held = edits().slice(from, -1);
    expect(held.length).toBeGreaterThanOrEqual(3);
    expect(held).toEqual(held.map(() => ({ kind: 'text', text: 'x' })));
  });

  it('refuses to start a second source while one holds the process-wide hook', async () => {
    const { status, messages } = await startTyping({ second: true });
    expect(status.state).toBe('running');
    const second = await waitFor('the second source reports', () =>
      messages.find((m) => m.kind === 'second'),
    );
    expect(second).toMatchObject({ state: 'failed', error: { code: 'TYPING_SOURCE_FAILED' } });
  });

  it('fails with TYPING_SOURCE_NO_RECORD, without starting the hook, on an X server without RECORD', async () => {
    const bare = await XServer.start({ record: false, windowManager: false });
    try {
      const record = await bare.run('xdpyinfo', ['-queryExtensions']);
      expect(record.stdout).not.toMatch(/^\s+RECORD\b/m);
      // The first line the child prints is the source's state after start.
      const result = await run(process.execPath, [...TS_NODE_ARGS, CHILD, '{"layout":"us"}'], {
        env: { ...process.env, DISPLAY: bare.display },
      });
      expect(result.stderr).toBe('');
      // Exited by itself (the source did not start), not killed by SIGABRT.
      expect(result.code).toBe(0);
      const reported = JSON.parse(result.stdout.split('\n')[0] ?? '') as {
        state: string;
        error: SourceFailure;
      };
      expect(reported.state).toBe('failed');
      expect(reported.error.code).toBe('TYPING_SOURCE_NO_RECORD');
      expect(reported.error.message).toContain('RECORD');
    } finally {
      await bare.close();
    }
  });
});

function isEnter(edit: TextEdit): boolean {
  return edit.kind === 'boundary' && edit.reason === 'enter';
}

/** The text of text edits, with other edits shown in brackets. */
function textOf(edits: readonly TextEdit[]): string {
  return edits
    .map((edit) =>
      edit.kind === 'text' ? edit.text : `[${edit.kind === 'boundary' ? edit.reason : edit.kind}]`,
    )
    .join('');
}
