import { describe, expect, it } from 'vitest';

import { ClipboardChangeTracker, type ClipboardRead } from './clipboard-poller.ts';

const text = (value: string): ClipboardRead => ({ kind: 'text', text: value });

// The sources' behaviour is in the clipboard contract (clipboard-source.contract.test.ts);
// these are the tracker's rules on their own, for sources that read when told of a change.
describe('ClipboardChangeTracker', () => {
  it('takes the first answered read as the baseline, then reports each change once', () => {
    const changes = new ClipboardChangeTracker();
    expect(changes.update({ kind: 'skip' })).toBeNull();
    expect(changes.update(text('there before'))).toBeNull();
    expect(changes.update(text('there before'))).toBeNull();
    expect(changes.update(text('copied'))).toBe('copied');
    expect(changes.update({ kind: 'skip' })).toBeNull();
    expect(changes.update(text('copied'))).toBeNull();
  });

  it('reports a text again after something else, and never whitespace', () => {
    const changes = new ClipboardChangeTracker();
    expect(changes.update({ kind: 'none' })).toBeNull();
    expect(changes.update(text('a'))).toBe('a');
    expect(changes.update({ kind: 'none' })).toBeNull();
    expect(changes.update(text('a'))).toBe('a');
    expect(changes.update(text(' \n'))).toBeNull();
    expect(changes.update(text('a'))).toBe('a');
  });
});
