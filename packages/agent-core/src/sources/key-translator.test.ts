import { describe, expect, it } from 'vitest';

import { KeyTranslator, type KeyboardLayout, type KeyEvent } from './key-translator.ts';
import type { TextEdit } from './source.ts';

// libuiohook key codes used below.
const KEY = {
  a: 0x1e,
  b: 0x30,
  c: 0x2e,
  v: 0x2f,
  digit2: 0x03,
  digit3: 0x04,
  digit4: 0x05,
  quote: 0x28,
  backquote: 0x29,
  backslash: 0x2b,
  iso102nd: 0x00,
  space: 0x39,
  enter: 0x1c,
  tab: 0x0f,
  backspace: 0x0e,
  delete: 0x0e53,
  capsLock: 0x3a,
  shift: 0x2a,
  ctrl: 0x1d,
  altRight: 0x0e38,
  left: 0xe04b,
  numpad7: 0x47,
  numpadEnter: 0x0e1c,
} as const;

type Modifiers = Partial<Pick<KeyEvent, 'shiftKey' | 'ctrlKey' | 'altKey' | 'metaKey'>>;

/** Drives a translator like a keyboard: each `tap` is a press and a release, 100 ms apart. */
function keyboard(
  layout: KeyboardLayout,
  capsLock = false,
  editingModifier: 'ctrl' | 'meta' = 'ctrl',
) {
  const translator = new KeyTranslator({ layout, capsLock, editingModifier });
  const edits: TextEdit[] = [];
  let time = 0;
  const down = (keycode: number, modifiers: Modifiers = {}): void => {
    time += 100;
    const edit = translator.keyDown({
      keycode,
      shiftKey: false,
      ctrlKey: false,
      altKey: false,
      metaKey: false,
      ...modifiers,
      time,
    });
    if (edit) edits.push(edit);
  };
  const up = (keycode: number): void => translator.keyUp({ keycode });
  const tap = (keycode: number, modifiers: Modifiers = {}): void => {
    down(keycode, modifiers);
    up(keycode);
  };
  /** Auto-repeat: presses 30 ms apart with no release between. */
  const hold = (keycode: number, presses: number): void => {
    for (let i = 0; i < presses; i++) {
      time += 30;
      const edit = translator.keyDown({
        keycode,
        shiftKey: false,
        ctrlKey: false,
        altKey: false,
        metaKey: false,
        time,
      });
      if (edit) edits.push(edit);
    }
    up(keycode);
  };
  const text = (): string =>
    edits
      .map((edit) =>
        edit.kind === 'text'
          ? edit.text
          : `[${edit.kind === 'boundary' ? edit.reason : edit.kind}]`,
      )
      .join('');
  return { translator, edits, down, up, tap, hold, text };
}

describe('KeyTranslator', () => {
  it('types lower and upper case letters with Shift', () => {
    const kb = keyboard('us');
    kb.tap(KEY.a);
    kb.tap(KEY.b, { shiftKey: true });
    kb.tap(KEY.space);
    kb.tap(KEY.c);
    expect(kb.text()).toBe('aB c');
  });

  it('applies Caps Lock to letters only, and Shift inverts it', () => {
    const kb = keyboard('us');
    kb.tap(KEY.capsLock);
    kb.tap(KEY.a);
    kb.tap(KEY.b, { shiftKey: true });
    kb.tap(KEY.digit2);
    kb.tap(KEY.capsLock);
    kb.tap(KEY.c);
    expect(kb.text()).toBe('Ab2c');
  });

  it('starts from the Caps Lock state it is given', () => {
    const kb = keyboard('uk', true);
    kb.tap(KEY.a);
    expect(kb.text()).toBe('A');
  });

  it('toggles Caps Lock once however long the key is held (platforms that repeat it)', () => {
    const kb = keyboard('us');
    kb.hold(KEY.capsLock, 5);
    kb.tap(KEY.a);
    expect(kb.translator.capsLock).toBe(true);
    expect(kb.text()).toBe('A');
  });

  it('maps the US symbols', () => {
    const kb = keyboard('us');
    kb.tap(KEY.digit2, { shiftKey: true });
    kb.tap(KEY.digit3, { shiftKey: true });
    kb.tap(KEY.quote, { shiftKey: true });
    kb.tap(KEY.quote);
    kb.tap(KEY.backslash);
    kb.tap(KEY.backslash, { shiftKey: true });
    kb.tap(KEY.backquote, { shiftKey: true });
    expect(kb.text()).toBe(`@#"'\\|~`);
  });

  it('maps the UK differences: " and @ swapped, £, #/~ key, the \\ key, ¬', () => {
    const kb = keyboard('uk');
    kb.tap(KEY.digit2, { shiftKey: true });
    kb.tap(KEY.quote, { shiftKey: true });
    kb.tap(KEY.digit3, { shiftKey: true });
    kb.tap(KEY.backslash);
    kb.tap(KEY.backslash, { shiftKey: true });
    kb.tap(KEY.iso102nd);
    kb.tap(KEY.iso102nd, { shiftKey: true });
    kb.tap(KEY.backquote, { shiftKey: true });
    expect(kb.text()).toBe('"@£#~\\|¬');
  });

  it('ignores the key libuiohook cannot name on the US layout', () => {
    const kb = keyboard('us');
    kb.tap(KEY.iso102nd);
    expect(kb.edits).toEqual([]);
  });

  it('types € with AltGr+4 on the UK layout, and nothing for other AltGr keys', () => {
    const kb = keyboard('uk');
    kb.down(KEY.altRight, { altKey: true });
    kb.tap(KEY.digit4, { altKey: true });
    kb.tap(KEY.a, { altKey: true });
    kb.up(KEY.altRight);
    kb.tap(KEY.digit4, { shiftKey: true });
    expect(kb.text()).toBe('€$');
  });

  it('treats Right Alt as a shortcut key on the US layout', () => {
    const kb = keyboard('us');
    kb.down(KEY.altRight, { altKey: true });
    kb.tap(KEY.digit4, { altKey: true });
    kb.up(KEY.altRight);
    expect(kb.edits).toEqual([]);
  });

  it('turns Backspace, Delete, Enter, Tab and a click into edits and boundaries', () => {
    const kb = keyboard('us');
    kb.tap(KEY.a);
    kb.tap(KEY.backspace);
    kb.tap(KEY.delete);
    kb.tap(KEY.enter);
    kb.tap(KEY.tab);
    kb.tap(KEY.numpadEnter);
    kb.edits.push(kb.translator.mouseDown());
    expect(kb.edits).toEqual([
      { kind: 'text', text: 'a' },
      { kind: 'backspace' },
      { kind: 'delete' },
      { kind: 'boundary', reason: 'enter' },
      { kind: 'boundary', reason: 'tab' },
      { kind: 'boundary', reason: 'enter' },
      { kind: 'boundary', reason: 'click' },
    ]);
  });

  it('ignores shortcuts like Ctrl+C, and marks the ones that change the text as a caret boundary', () => {
    const kb = keyboard('us');
    kb.down(KEY.ctrl, { ctrlKey: true });
    kb.tap(KEY.c, { ctrlKey: true });
    kb.tap(KEY.v, { ctrlKey: true });
    kb.tap(KEY.backspace, { ctrlKey: true });
    kb.tap(KEY.enter, { ctrlKey: true });
    kb.up(KEY.ctrl);
    kb.tap(KEY.a, { metaKey: true });
    expect(kb.text()).toBe('[caret][caret][enter]');
  });

  it('on macOS takes Command, not Ctrl, as the modifier of editing shortcuts', () => {
    const kb = keyboard('uk', false, 'meta');
    kb.tap(KEY.a);
    kb.tap(KEY.v, { metaKey: true });
    kb.tap(KEY.b);
    kb.tap(KEY.v, { ctrlKey: true });
    expect(kb.text()).toBe('a[caret]b');
  });

  it('marks caret movement as a caret boundary', () => {
    const kb = keyboard('us');
    kb.tap(KEY.a);
    kb.tap(KEY.left);
    kb.tap(KEY.b);
    expect(kb.text()).toBe('a[caret]b');
  });

  it('repeats a held character and Backspace as the field does, but not a boundary', () => {
    const kb = keyboard('us');
    kb.hold(KEY.a, 4);
    kb.hold(KEY.backspace, 2);
    kb.hold(KEY.enter, 3);
    kb.hold(KEY.shift, 3);
    expect(kb.text()).toBe('aaaa[backspace][backspace][enter]');
  });

  it('takes a press long after a missed release as a new press, not a repeat', () => {
    const kb = keyboard('us');
    kb.down(KEY.enter);
    // No release seen (the hook missed it); the next press comes seconds later.
    for (let i = 0; i < 30; i++) kb.tap(KEY.a);
    kb.down(KEY.enter);
    expect(kb.text()).toBe(`[enter]${'a'.repeat(30)}[enter]`);
  });

  it('types numpad digits and operators', () => {
    const kb = keyboard('uk');
    kb.tap(KEY.numpad7);
    kb.tap(0x4e);
    kb.tap(0x53);
    expect(kb.text()).toBe('7+.');
  });
});
