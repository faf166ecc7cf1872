import { randomBytes } from 'node:crypto';
import { link, mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';

import { errnoCode, SpoolError } from './spool-errors.ts';
import { KEY_BYTES } from './spool-format.ts';
import { syncDirectory } from './spool-io.ts';

/**
 * Read the spool's 32-byte key from `path`, creating it (random, mode 0600, parent
 * directory 0700) on first use. Creation is atomic: the key is written and fsynced under a
 * temporary name, then published with `link`, so a crash never leaves a short key and two
 * agents starting at once agree on one key.
 *
 * On POSIX the file must belong to this process's account: a key file readable by group or
 * others is tightened to 0600; one owned by another account is refused (someone else could
 * have planted it). On Windows mode bits mean nothing: the installer's ACL on the folder is
 * what protects the key (see the package README, "Spool").
 *
 * Throws SpoolError `SPOOL_KEY_INVALID` when the file is not exactly 32 bytes (it is never
 * replaced: data written with the old key would be lost silently; delete it by hand to
 * start a new key, and the old spool is quarantined), `SPOOL_KEY_INSECURE` as above.
 */
export async function loadOrCreateSpoolKey(path: string): Promise<Buffer> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const existing = await readKeyFile(path);
  if (existing) return existing;

  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(temporary, 'wx', 0o600);
  try {
    await handle.writeFile(randomBytes(KEY_BYTES));
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await link(temporary, path);
  } catch (error) {
    const code = errnoCode(error);
    // EEXIST: another agent published its key first; ours is discarded below and we read theirs.
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'ENOSYS') {
      // A filesystem without hard links: rename, which is atomic but not exclusive.
      await rename(temporary, path);
    } else if (code !== 'EEXIST') {
      throw error;
    }
  } finally {
    await rm(temporary, { force: true });
  }
  await syncDirectory(dirname(path));
  const created = await readKeyFile(path);
  if (!created) {
    throw new SpoolError(
      'SPOOL_KEY_INVALID',
      `The spool key ${path} vanished right after it was created: check that nothing else manages that folder.`,
    );
  }
  return created;
}

async function readKeyFile(path: string): Promise<Buffer | undefined> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const stat = await handle.stat();
    if (process.platform !== 'win32') {
      const uid = process.getuid?.();
      if (uid !== undefined && stat.uid !== uid) {
        throw new SpoolError(
          'SPOOL_KEY_INSECURE',
          `The spool key ${path} belongs to uid ${stat.uid}, not to the agent's account (uid ${uid}). Delete it so the agent creates its own; spooled captures written with it will be quarantined.`,
        );
      }
      if ((stat.mode & 0o077) !== 0) await handle.chmod(0o600);
    }
    const key = await handle.readFile();
    if (key.length !== KEY_BYTES) {
      throw new SpoolError(
        'SPOOL_KEY_INVALID',
        `The spool key ${path} is ${key.length} bytes; it must be ${KEY_BYTES}. Restore it from backup, or delete it to start a new key (spooled captures will then be quarantined).`,
      );
    }
    return key;
  } finally {
    await handle.close();
  }
}
