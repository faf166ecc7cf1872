import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { run, waitFor, XServer } from '../../test-helpers/x11.ts';
import { readCookie, X11SelectionWatch } from './x11-selection-watch.ts';

describe('X11SelectionWatch', { timeout: 30_000 }, () => {
  let x: XServer;
  const opened: X11SelectionWatch[] = [];

  beforeAll(async () => {
    x = await XServer.start({ windowManager: false, cookie: true });
  }, 30_000);

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((watch) => watch.close()));
  });

  afterAll(async () => {
    await x?.close();
  });

  /** Open a watch on CLIPBOARD with the test server's cookie, counting what it reports. */
  async function watch(options: { display?: string; authorityFile?: string } = {}) {
    const seen = { changes: 0, closed: 0 };
    const result = await X11SelectionWatch.open({
      display: options.display ?? x.display,
      authorityFile: options.authorityFile ?? x.env['XAUTHORITY'],
      selection: 'CLIPBOARD',
      onChange: () => (seen.changes += 1),
      onClosed: () => (seen.closed += 1),
    });
    if (result.ok) opened.push(result.watch);
    return { result, seen };
  }

  it('reports each new owner of the selection, with the session’s cookie', async () => {
    const { result, seen } = await watch();
    expect(result.ok).toBe(true);
    await x.setClipboard('one');
    await waitFor('the first copy is reported', () => seen.changes >= 1);
    const before = seen.changes;
    await x.setClipboard('two');
    await waitFor('the second copy is reported', () => seen.changes > before);
    expect(seen.closed).toBe(0);
  });

  it('is refused, and says so, without the cookie the server asks for', async () => {
    const { result } = await watch({ authorityFile: join(tmpdir(), 'lantern-no-such-file') });
    expect(result).toMatchObject({
      ok: false,
      reason: 'unreachable',
      message: expect.stringMatching(/refused the connection/) as unknown,
    });
  });

  // Not tested: a server without XFIXES (every X.Org server since 6.8 has it; Xvfb started
  // with `-extension XFIXES` aborts when a client disconnects).
  it('is unsupported where the display is not local', async () => {
    for (const display of ['school-server:0', '127.0.0.1:0', 'localhost:10.0']) {
      expect((await watch({ display })).result).toMatchObject({ ok: false, reason: 'unsupported' });
    }
  });

  it('is unreachable where no X server listens', async () => {
    expect((await watch({ display: ':65000' })).result).toMatchObject({
      ok: false,
      reason: 'unreachable',
    });
  });

  it('tells when the X server goes away, and not after close()', async () => {
    const doomed = await XServer.start({ windowManager: false });
    const { result, seen } = await watch({ display: doomed.display });
    const { result: closedFirst, seen: quiet } = await watch({ display: doomed.display });
    if (!closedFirst.ok) throw new Error(closedFirst.message);
    await closedFirst.watch.close();
    expect(result.ok).toBe(true);
    await doomed.close();
    await waitFor('the end of the connection is reported', () => seen.closed === 1);
    expect(quiet.closed).toBe(0);
  });
});

describe('readCookie', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lantern-xauth-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('finds the cookie xauth stored for this host and display, as Xlib would', async () => {
    const file = join(dir, 'Xauthority');
    // Written by the real tool: entries for this host (FamilyLocal), as a display manager writes them.
    for (const [display, cookie] of [
      [':3', '33333333333333333333333333333333'],
      [':7', '77777777777777777777777777777777'],
    ] as const) {
      const added = await run('xauth', [
        '-f',
        file,
        'add',
        display,
        'MIT-MAGIC-COOKIE-1',
        cookie,
      ]).catch((error: unknown) => {
        throw new Error('This test needs xauth: apt-get install -y xauth', { cause: error });
      });
      expect(added.code, `xauth: ${added.stderr}`).toBe(0);
    }
    expect((await readCookie(file, '7'))?.toString('hex')).toBe('7'.repeat(32));
    expect((await readCookie(file, '3'))?.toString('hex')).toBe('3'.repeat(32));
    expect(await readCookie(file, '4')).toBeNull();
    expect(await readCookie(join(dir, 'missing'), '7')).toBeNull();
  });
});
