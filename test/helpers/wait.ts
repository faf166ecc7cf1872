import { setTimeout as delay } from 'node:timers/promises';

/**
 * Poll `condition` until it holds. Rejects after `timeoutMs` with `what` and, when given,
 * `detail()` (the state that did not converge), so a stuck fault test says what it saw.
 */
export async function waitUntil(
  what: string,
  condition: () => boolean | Promise<boolean>,
  options: { timeoutMs?: number; intervalMs?: number; detail?: () => string } = {},
): Promise<void> {
  const { timeoutMs = 10_000, intervalMs = 50 } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() >= deadline) {
      const detail = options.detail ? `\n${options.detail()}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}${detail}`);
    }
    await delay(intervalMs);
  }
}
