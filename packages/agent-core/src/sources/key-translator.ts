/**
 * Turns physical key events (libuiohook's key codes, the same on Linux, Windows and macOS)
 * into `TextEdit`s, for a known keyboard layout. Pure: no I/O, no timers, no buffer of what
 * was typed — each key press is translated on its own and forgotten.
 */
import type { TextEdit } from './source.ts';

/** Keyboard layouts the translator knows. `uk` is the GB layout (`gb` in XKB, "United Kingdom" on Windows). */
export type KeyboardLayout = 'uk' | 'us';

/** The part of a uiohook key event the translator reads. */
export interface KeyEvent {
  /** libuiohook's virtual key code (`VC_*`, also exported by uiohook-napi as `UiohookKey`). */
  readonly keycode: number;
  readonly shiftKey: boolean;
  readonly ctrlKey: boolean;
  readonly altKey: boolean;
  readonly metaKey: boolean;
  /** Event time in ms (any epoch; only differences are used). */
  readonly time: number;
}

// libuiohook VC_* codes. Copied rather than imported: importing uiohook-napi loads its
// native addon, which must not happen before the RECORD check (see x11-typing-source.ts).
const VC = {
  UNDEFINED: 0x0000,
  BACKSPACE: 0x000e,
  TAB: 0x000f,
  ENTER: 0x001c,
  CAPS_LOCK: 0x003a,
  INSERT: 0x0e52,
  DELETE: 0x0e53,
  HOME: 0x0e47,
  END: 0x0e4f,
  PAGE_UP: 0x0e49,
  PAGE_DOWN: 0x0e51,
  UP: 0xe048,
  LEFT: 0xe04b,
  RIGHT: 0xe04d,
  DOWN: 0xe050,
  KP_ENTER: 0x0e1c,
  /** Numpad keys with Num Lock off: libuiohook sets 0xEE00 on their codes. */
  KP_DELETE: 0xee53,
  KP_INSERT: 0xee52,
  SHIFT_L: 0x002a,
  SHIFT_R: 0x0036,
  CONTROL_L: 0x001d,
  CONTROL_R: 0x0e1d,
  ALT_L: 0x0038,
  ALT_R: 0x0e38,
  META_L: 0x0e5b,
  META_R: 0x0e5c,
  A: 0x001e,
  V: 0x002f,
  X: 0x002d,
  Y: 0x0015,
  Z: 0x002c,
  DIGIT_4: 0x0005,
} as const;

const MODIFIERS: ReadonlySet<number> = new Set([
  VC.SHIFT_L,
  VC.SHIFT_R,
  VC.CONTROL_L,
  VC.CONTROL_R,
  VC.ALT_L,
  VC.ALT_R,
  VC.META_L,
  VC.META_R,
]);

/** Keys that move the caret: what is typed after them need not continue what came before. */
const NAVIGATION: ReadonlySet<number> = new Set([
  VC.HOME,
  VC.END,
  VC.PAGE_UP,
  VC.PAGE_DOWN,
  VC.UP,
  VC.LEFT,
  VC.RIGHT,
  VC.DOWN,
  // The numpad's navigation keys, with Num Lock off.
  0xee47,
  0xee48,
  0xee49,
  0xee4b,
  0xee4d,
  0xee4f,
  0xee50,
  0xee51,
]);

/** Shortcuts that change the field in ways the keys do not spell out: select all, cut, paste, redo, undo. */
const EDITING_SHORTCUT_LETTERS: ReadonlySet<number> = new Set([VC.A, VC.X, VC.V, VC.Y, VC.Z]);

const LETTERS = {
  0x001e: 'a',
  0x0030: 'b',
  0x002e: 'c',
  0x0020: 'd',
  0x0012: 'e',
  0x0021: 'f',
  0x0022: 'g',
  0x0023: 'h',
  0x0017: 'i',
  0x0024: 'j',
  0x0025: 'k',
  0x0026: 'l',
  0x0032: 'm',
  0x0031: 'n',
  0x0018: 'o',
  0x0019: 'p',
  0x0010: 'q',
  0x0013: 'r',
  0x001f: 's',
  0x0014: 't',
  0x0016: 'u',
  0x002f: 'v',
  0x0011: 'w',
  0x002d: 'x',
  0x0015: 'y',
  0x002c: 'z',
} satisfies Record<number, string>;

type KeyCaps = readonly [plain: string, shifted: string];

/** Digits and punctuation on a US keyboard, by physical key. */
const US_SYMBOLS = {
  0x0029: ['`', '~'],
  0x0002: ['1', '!'],
  0x0003: ['2', '@'],
  0x0004: ['3', '#'],
  0x0005: ['4', '$'],
  0x0006: ['5', '%'],
  0x0007: ['6', '^'],
  0x0008: ['7', '&'],
  0x0009: ['8', '*'],
  0x000a: ['9', '('],
  0x000b: ['0', ')'],
  0x000c: ['-', '_'],
  0x000d: ['=', '+'],
  0x001a: ['[', '{'],
  0x001b: [']', '}'],
  0x002b: ['\\', '|'],
  0x0027: [';', ':'],
  0x0028: ["'", '"'],
  0x0033: [',', '<'],
  0x0034: ['.', '>'],
  0x0035: ['/', '?'],
  0x0039: [' ', ' '],
} satisfies Record<number, KeyCaps>;

/**
 * The UK keyboard: like the US one except `"` on Shift+2, `£` on Shift+3, `@` on Shift+',
 * `¬` on Shift+`, the `#`/`~` key where the US `\` is, and the extra key left of Z for `\`
 * and `|`. libuiohook reports that extra key (ISO "102nd key", X keycode 94) as
 * VC_UNDEFINED, because its X11 keycode table has no entry for it; no other key on a UK
 * PC keyboard is reported as undefined, so on the UK layout VC_UNDEFINED is that key.
 */
const UK_SYMBOLS = {
  ...US_SYMBOLS,
  0x0029: ['`', '¬'],
  0x0003: ['2', '"'],
  0x0004: ['3', '£'],
  0x0028: ["'", '@'],
  0x002b: ['#', '~'],
  [VC.UNDEFINED]: ['\\', '|'],
} satisfies Record<number, KeyCaps>;

/** AltGr characters (UK only): just € — the one AltGr character Windows and Linux UK layouts agree on. */
const UK_ALTGR = { [VC.DIGIT_4]: '€' } satisfies Record<number, string>;

/** The numpad with Num Lock on (libuiohook gives these codes only then). */
const NUMPAD = {
  0x0052: '0',
  0x004f: '1',
  0x0050: '2',
  0x0051: '3',
  0x004b: '4',
  0x004c: '5',
  0x004d: '6',
  0x0047: '7',
  0x0048: '8',
  0x0049: '9',
  0x0037: '*',
  0x004e: '+',
  0x004a: '-',
  0x0e35: '/',
  0x0053: '.',
} satisfies Record<number, string>;

const SYMBOLS: Record<KeyboardLayout, Readonly<Record<number, KeyCaps>>> = {
  us: US_SYMBOLS,
  uk: UK_SYMBOLS,
};

function lookup<T>(table: Readonly<Record<number, T>>, keycode: number): T | undefined {
  return Object.hasOwn(table, keycode) ? table[keycode] : undefined;
}

/**
 * A key pressed again within this time without a release in between is the keyboard's
 * auto-repeat. Auto-repeat fires every 25–50 ms; a longer gap means the release was missed
 * (the hook stopped, a grab), and the press is taken as a new one.
 */
const REPEAT_WINDOW_MS = 1_000;

export interface KeyTranslatorOptions {
  readonly layout: KeyboardLayout;
  /** Caps Lock at start (read from the platform; the translator follows its presses after that). */
  readonly capsLock: boolean;
  /**
   * The modifier of the editing shortcuts (select all, cut, paste, undo, redo): Ctrl on
   * Windows and Linux (the default), Command (`meta`) on macOS.
   */
  readonly editingModifier?: 'ctrl' | 'meta';
}

/**
 * Translates one keyboard's presses into `TextEdit`s, following Caps Lock and which keys
 * are held (for auto-repeat and AltGr).
 *
 * Auto-repeat: a held key repeats in the field, so a repeated character, Backspace or Delete
 * is emitted each time, keeping the detector's idea of the field in step with the field;
 * repeats are ignored where they would be wrong or noise — Caps Lock (some platforms repeat
 * it, and toggling on each repeat would flip the case at random), modifiers, and boundaries
 * (one Enter boundary is the same as twenty).
 *
 * Shortcuts (Ctrl, Alt, or the Windows/Command key with a key) are not text: Ctrl+C yields
 * nothing; shortcuts that change the text in ways the keys do not show (Ctrl+V, Ctrl+X,
 * Ctrl+Z, Ctrl+Y, Ctrl+A, Ctrl/Alt+Backspace, Ctrl+Delete) and Shift+Insert yield a `caret`
 * boundary. Ctrl+Enter (send, in chat apps) is an `enter` boundary.
 */
export class KeyTranslator {
  readonly layout: KeyboardLayout;
  readonly #editingModifier: 'ctrl' | 'meta';
  #capsLock: boolean;
  /** Keys held now, with the time of their last press (first or repeated). */
  readonly #held = new Map<number, number>();

  constructor(options: KeyTranslatorOptions) {
    this.layout = options.layout;
    this.#capsLock = options.capsLock;
    this.#editingModifier = options.editingModifier ?? 'ctrl';
  }

  /** Whether Caps Lock is on, as far as the presses seen tell. */
  get capsLock(): boolean {
    return this.#capsLock;
  }

  keyDown(event: KeyEvent): TextEdit | null {
    const { keycode } = event;
    const lastPress = this.#held.get(keycode);
    const repeat = lastPress !== undefined && event.time - lastPress < REPEAT_WINDOW_MS;
    this.#held.set(keycode, event.time);

    if (MODIFIERS.has(keycode)) return null;
    if (keycode === VC.CAPS_LOCK) {
      if (!repeat) this.#capsLock = !this.#capsLock;
      return null;
    }

    // On the UK layout Right Alt is AltGr (a third level of characters), not a shortcut key.
    // On Linux AltGr arrives as Right Alt alone; Windows adds a synthetic Left Ctrl, which
    // is why Ctrl is not checked here.
    const altGr =
      this.layout === 'uk' &&
      this.#held.has(VC.ALT_R) &&
      !this.#held.has(VC.ALT_L) &&
      !event.metaKey;
    const shortcut = (event.ctrlKey && !altGr) || event.metaKey || (event.altKey && !altGr);
    const boundary = (reason: 'enter' | 'tab' | 'caret'): TextEdit | null =>
      repeat ? null : { kind: 'boundary', reason };

    if (keycode === VC.ENTER || keycode === VC.KP_ENTER) return boundary('enter');
    if (keycode === VC.TAB) return shortcut ? null : boundary('tab');
    if (keycode === VC.BACKSPACE) return shortcut ? boundary('caret') : { kind: 'backspace' };
    if (keycode === VC.DELETE || keycode === VC.KP_DELETE) {
      return shortcut ? boundary('caret') : { kind: 'delete' };
    }
    if (NAVIGATION.has(keycode)) return boundary('caret');
    if (keycode === VC.INSERT || keycode === VC.KP_INSERT) {
      return event.shiftKey && !shortcut ? boundary('caret') : null;
    }
    if (shortcut) {
      const editing = this.#editingModifier === 'meta' ? event.metaKey : event.ctrlKey;
      return editing && EDITING_SHORTCUT_LETTERS.has(keycode) ? boundary('caret') : null;
    }

    const text = altGr ? this.#altGrCharacter(keycode) : this.#character(keycode, event.shiftKey);
    return text === undefined ? null : { kind: 'text', text };
  }

  keyUp(event: Pick<KeyEvent, 'keycode'>): void {
    this.#held.delete(event.keycode);
  }

  /** A mouse button went down: the caret may have moved anywhere. */
  mouseDown(): TextEdit {
    return { kind: 'boundary', reason: 'click' };
  }

  #character(keycode: number, shift: boolean): string | undefined {
    const letter = lookup(LETTERS, keycode);
    if (letter !== undefined) {
      // Caps Lock affects letters only, and Shift inverts it (Caps+Shift+a → a).
      return shift !== this.#capsLock ? letter.toUpperCase() : letter;
    }
    const caps = lookup(SYMBOLS[this.layout], keycode);
    if (caps !== undefined) return shift ? caps[1] : caps[0];
    return lookup(NUMPAD, keycode);
  }

  #altGrCharacter(keycode: number): string | undefined {
    return this.layout === 'uk' ? lookup(UK_ALTGR, keycode) : undefined;
  }
}
