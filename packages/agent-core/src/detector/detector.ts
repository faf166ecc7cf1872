import {
  summarise,
  type LexiconMatch,
  type Matcher,
  type MatchStream,
  type StreamReport,
} from '@lantern/lexicon';
import type { AgeBand, Source } from '@lantern/protocol';

import type { ActiveWindow, TextEdit } from '../sources/source.ts';

/** Synthetic: words, a typo put right, sentence ends, and a word the lexicon knows. */
const WARM_UP_TEXT =
  'Finished the maths homework, now revising for the history test tomorrow. That last level was so hard it nearly killed me lol! See you at 9?';
const WARM_UP_ROUNDS = 20;

/** Text that matched, with where it was seen. Nothing that did not match leaves the detector. */
export interface Finding {
  readonly source: Source;
  /** The sentence (typed), the title, or the clipboard text, that matched. */
  readonly text: string;
  readonly matches: readonly LexiconMatch[];
  readonly window: ActiveWindow | null;
  readonly observedAt: Date;
}

export interface DetectorOptions {
  readonly matcher: Matcher;
  readonly ageBand: AgeBand;
  readonly onFinding: (finding: Finding) => void;
  /** Windows whose unfinished sentence is kept (least recently focused forgotten first). */
  readonly maxWindows?: number;
  /** Whether typing is in a password field now (skipped), where the platform can tell. */
  readonly inPasswordField?: () => boolean;
  readonly now?: () => Date;
}

/**
 * Runs the lexicon over what the sources see: typed text incrementally, one stream per
 * window (a sentence is settled at its end, or at Enter, Tab, a click or a focus change);
 * each new window title; each new clipboard text. Reports only what flags; the rest is
 * forgotten as soon as its sentence ends.
 */
export class Detector {
  private matcher: Matcher;
  private ageBand: AgeBand;
  private readonly options: DetectorOptions;
  private readonly streams = new Map<string, MatchStream>();
  private active: ActiveWindow | null = null;
  private lastTitle = new Map<string, string>();

  constructor(options: DetectorOptions) {
    this.options = options;
    this.matcher = options.matcher;
    this.ageBand = options.ageBand;
  }

  /**
   * A new policy or lexicon: unfinished sentences are settled under the old one first.
   * Nothing happens when both are the ones in force (a policy that changed something else).
   */
  setMatcher(matcher: Matcher, ageBand: AgeBand): void {
    if (matcher === this.matcher && ageBand === this.ageBand) return;
    this.settleAll();
    this.matcher = matcher;
    this.ageBand = ageBand;
    this.streams.clear();
  }

  /**
   * Run the lexicon over made-up text once, results discarded, so that the code of the key
   * path is compiled before the pupil's first keys rather than during them: the first
   * sentence typed otherwise takes tens of milliseconds of key handling. 10–30 ms; call
   * once, before the typing source starts.
   */
  warmUp(): void {
    const options = { source: 'typed', ageBand: this.ageBand } as const;
    for (let round = 0; round < WARM_UP_ROUNDS; round++) {
      const stream = this.matcher.createStream(options);
      for (const char of WARM_UP_TEXT) {
        stream.write(char);
        if (char === ',') stream.backspace();
      }
      stream.flush();
      this.matcher.scan(WARM_UP_TEXT, { ...options, source: 'window_title' });
    }
  }

  /** The focused window changed (or its title did). */
  focus(window: ActiveWindow): void {
    const previous = this.active;
    if (previous && previous.id !== window.id) this.settle(previous);
    this.active = window;
    if (this.lastTitle.get(window.id) !== window.title) {
      this.lastTitle.set(window.id, window.title);
      if (this.lastTitle.size > (this.options.maxWindows ?? 64) * 4) {
        const oldest = this.lastTitle.keys().next().value;
        if (oldest !== undefined) this.lastTitle.delete(oldest);
      }
      if (window.title.trim()) this.scanWhole('window_title', window.title);
    }
  }

  /** What typing did in the focused window. */
  edit(edit: TextEdit): void {
    if (this.options.inPasswordField?.()) return;
    const window = this.active;
    const stream = this.streamFor(window);
    switch (edit.kind) {
      case 'text':
        this.report(window, stream.write(edit.text));
        return;
      case 'backspace':
        stream.backspace();
        return;
      case 'delete':
        // Forward delete removes text after the caret, which the stream cannot see: the
        // sentence as typed stays whole (a near miss, never a false capture of untyped text).
        return;
      case 'boundary':
        this.report(window, stream.flush());
        return;
    }
  }

  /** New text on the clipboard. */
  clipboard(text: string): void {
    if (text.trim()) this.scanWhole('clipboard', text);
  }

  /** Settle every window's unfinished sentence (at shutdown, lock or logout). */
  settleAll(): void {
    for (const [id, stream] of this.streams) {
      const window = this.active?.id === id ? this.active : null;
      this.report(window, stream.flush());
    }
  }

  private settle(window: ActiveWindow): void {
    const stream = this.streams.get(window.id);
    if (stream) this.report(window, stream.flush());
  }

  private streamFor(window: ActiveWindow | null): MatchStream {
    const id = window?.id ?? '';
    let stream = this.streams.get(id);
    if (stream) {
      // Most recently used last, so the first is the one to forget.
      this.streams.delete(id);
    } else {
      stream = this.matcher.createStream({ source: 'typed', ageBand: this.ageBand });
      if (this.streams.size >= (this.options.maxWindows ?? 64)) {
        const [oldestId, oldest] = this.streams.entries().next().value ?? [];
        if (oldestId !== undefined && oldest) {
          this.streams.delete(oldestId);
          this.report(null, oldest.flush());
        }
      }
    }
    this.streams.set(id, stream);
    return stream;
  }

  private scanWhole(source: Source, text: string): void {
    const result = this.matcher.scan(text, { source, ageBand: this.ageBand });
    if (result.flagged) this.emit(source, text, result.matches, this.active);
  }

  private report(window: ActiveWindow | null, reports: readonly StreamReport[]): void {
    for (const report of reports) {
      if (summarise(report.matches).flagged)
        this.emit('typed', report.text, report.matches, window);
    }
  }

  private emit(
    source: Source,
    text: string,
    matches: readonly LexiconMatch[],
    window: ActiveWindow | null,
  ): void {
    this.options.onFinding({
      source,
      text,
      matches,
      window,
      observedAt: (this.options.now ?? (() => new Date()))(),
    });
  }
}
