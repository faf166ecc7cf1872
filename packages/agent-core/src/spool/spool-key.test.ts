import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { loadOrCreateSpoolKey } from './spool-key.ts';

const posix = process.platform !== 'win32';
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lantern-spool-key-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('loadOrCreateSpoolKey', () => {
  it('creates a 32-byte key only its owner can read, and reads the same key back', async () => {
    const path = join(dir, 'keys', 'spool.key');
    const key = await loadOrCreateSpoolKey(path);
    expect(key).toHaveLength(32);
    await expect(loadOrCreateSpoolKey(path)).resolves.toEqual(key);
    expect(await readFile(path)).toEqual(key);
    if (posix) {
      expect((await stat(path)).mode & 0o777).toBe(0o600);
      expect((await stat(join(dir, 'keys'))).mode & 0o777).toBe(0o700);
    }
    expect(await readdir(join(dir, 'keys'))).toEqual(['spool.key']); // no temporary left
  });

  it('gives every caller the same key when several create it at once', async () => {
    const path = join(dir, 'spool.key');
    const keys = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateSpoolKey(path)));
    for (const key of keys) expect(key).toEqual(keys[0]);
  });

  it.runIf(posix)('tightens a key file that others could read to 0600', async () => {
    const path = join(dir, 'spool.key');
    const key = await loadOrCreateSpoolKey(path);
    await chmod(path, 0o644);
    await expect(loadOrCreateSpoolKey(path)).resolves.toEqual(key);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it('refuses a key file of the wrong size and leaves it alone', async () => {
    const path = join(dir, 'spool.key');
    await writeFile(path, Buffer.alloc(16, 1), { mode: 0o600 });
    await expect(loadOrCreateSpoolKey(path)).rejects.toMatchObject({ code: 'SPOOL_KEY_INVALID' });
    expect(await readFile(path)).toEqual(Buffer.alloc(16, 1));
  });
});
