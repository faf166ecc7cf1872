/**
 * What every `SessionSource` must do, as a test suite run against each implementation
 * through stand-ins for the platform's tools (logind, quser and tasklist, ioreg are system
 * services and programs these tests cannot run), answering in the tools' real formats.
 */
import { afterEach, describe, expect, it } from 'vitest';

import type { SessionState } from '@lantern/protocol';

import type { SessionInfo, SessionSource } from '../sources/source.ts';
import type { Timers } from '../sources/timers.ts';
import { ManualTimers } from './manual-timers.ts';

export interface SessionSourceFixture {
  /** A new, stopped source whose polls run on `timers`. */
  readonly create: (timers: Timers) => SessionSource;
  /** From now on, the tools report the pupil's session in `state`. */
  readonly enter: (state: SessionState) => Promise<void>;
  /** From now on, the tools fail (the service restarting, a tool timing out). */
  readonly breakTools: () => Promise<void>;
  /** The states this platform tells apart, `active` first. */
  readonly states: readonly SessionState[];
  /** The login name the source should report. */
  readonly loginName: string;
}

export function describeSessionSourceContract(
  name: string,
  fixture: () => SessionSourceFixture,
): void {
  describe(`${name} (SessionSource contract)`, () => {
    const started: SessionSource[] = [];

    afterEach(async () => {
      await Promise.all(started.splice(0).map((source) => source.stop()));
    });

    async function watch(f: SessionSourceFixture) {
      const sessions: SessionInfo[] = [];
      const timers = new ManualTimers();
      const source = f.create(timers);
      started.push(source);
      await source.start((session) => sessions.push(session));
      expect(source.state).toBe('running');
      expect(source.error).toBeNull();
      return { sessions, timers, source };
    }

    it('reports the session at start, then each change once', async () => {
      const f = fixture();
      await f.enter('active');
      const { sessions, timers } = await watch(f);
      await timers.poll(); // unchanged: no event
      const others = f.states.filter((state) => state !== 'active');
      for (const state of others) {
        await f.enter(state);
        await timers.poll();
        await timers.poll();
        await f.enter('active');
        await timers.poll();
      }
      const expected = [
        'active',
        ...others.flatMap((state): SessionState[] => [state, 'active']),
      ].map((state) => ({ loginName: f.loginName, state }));
      expect(sessions).toEqual(expected);
    });

    it('keeps the last state while the tools fail', async () => {
      const f = fixture();
      const [, other = 'active'] = f.states;
      await f.enter(other);
      const { sessions, timers } = await watch(f);
      await f.breakTools();
      await timers.poll();
      await f.enter('active');
      await timers.poll();
      const expected: SessionState[] = other === 'active' ? ['active'] : [other, 'active'];
      expect(sessions).toEqual(expected.map((state) => ({ loginName: f.loginName, state })));
    });

    it('stops polling when stopped', async () => {
      const f = fixture();
      await f.enter('active');
      const { timers, source } = await watch(f);
      await source.stop();
      expect(source.state).toBe('stopped');
      expect(timers.scheduled).toBe(false);
    });
  });
}
