import { describe, expect, it } from 'vitest';

import { ManualTimers } from '../test-helpers/manual-timers.ts';
import { PollLoop, type PollOutcome } from './poll-loop.ts';
import type { Timers } from './timers.ts';

describe('PollLoop', () => {
  it('polls once at start, then once per interval after each poll has finished', async () => {
    const timers = new ManualTimers();
    let polls = 0;
    const loop = new PollLoop({
      intervalMs: 500,
      timers,
      poll: async () => {
        polls += 1;
        return 'continue';
      },
    });
    await expect(loop.start()).resolves.toBe('continue');
    expect(polls).toBe(1);
    expect(timers.scheduled).toBe(true);
    await timers.poll();
    await timers.poll();
    expect(polls).toBe(3);
    await loop.stop();
    expect(timers.scheduled).toBe(false);
  });

  it('schedules nothing after a poll that says stop', async () => {
    // Timers fired by hand, without waiting for the next poll to be scheduled (none will be).
    const pending: (() => void)[] = [];
    const timers: Timers = {
      setTimeout: (callback) => pending.push(callback),
      clearTimeout: () => {},
    };
    const outcomes: PollOutcome[] = ['continue', 'stop'];
    let finished: () => void = () => {};
    const loop = new PollLoop({
      intervalMs: 500,
      timers,
      poll: async () => {
        const outcome = outcomes.shift() ?? 'continue';
        if (outcome === 'stop') setImmediate(finished);
        return outcome;
      },
    });
    await loop.start();
    expect(pending).toHaveLength(1);
    const second = new Promise<void>((resolve) => (finished = resolve));
    pending.shift()?.();
    await second;
    expect(outcomes).toEqual([]);
    expect(pending).toHaveLength(0);
  });

  it('stop() aborts the poll in flight and waits for it', async () => {
    const timers = new ManualTimers();
    let finished = false;
    let release: () => void = () => {};
    const loop = new PollLoop({
      intervalMs: 500,
      timers,
      poll: async (signal) => {
        await new Promise<void>((resolve) => {
          release = resolve;
          signal.addEventListener('abort', () => resolve(), { once: true });
        });
        finished = true;
        return 'continue';
      },
    });
    const started = loop.start();
    await loop.stop();
    expect(loop.signal.aborted).toBe(true);
    expect(finished).toBe(true);
    await expect(started).resolves.toBe('stop');
    expect(timers.scheduled).toBe(false);
    release();
  });
});
