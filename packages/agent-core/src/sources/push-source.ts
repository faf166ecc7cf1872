import type { SourceState } from '@lantern/protocol';

import type { Source } from './source.ts';

/**
 * A source whose events its host pushes in: the Electron shell reads the clipboard through
 * Electron's `clipboard` and session changes through `powerMonitor`, and pushes them here.
 * Events pushed while stopped are ignored.
 */
export class PushSource<Event> implements Source<Event> {
  private handler: ((event: Event) => void) | undefined;
  private stateValue: SourceState = 'stopped';
  private errorValue: { code: string; message: string } | null = null;

  get state(): SourceState {
    return this.stateValue;
  }

  get error(): { code: string; message: string } | null {
    return this.errorValue;
  }

  async start(onEvent: (event: Event) => void): Promise<void> {
    this.handler = onEvent;
    this.stateValue = 'running';
  }

  async stop(): Promise<void> {
    this.handler = undefined;
    this.stateValue = 'stopped';
  }

  push(event: Event): void {
    this.handler?.(event);
  }

  /** The host lost access (a permission withdrawn, an API failing): reported in the heartbeat. */
  fail(code: string, message: string): void {
    this.stateValue = 'failed';
    this.errorValue = { code, message };
  }
}
