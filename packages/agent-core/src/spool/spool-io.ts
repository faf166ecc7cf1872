import { open, rename, type FileHandle } from 'node:fs/promises';

import { errnoCode } from './spool-errors.ts';

/** What was synced, for the `onSync` hook that counts fsyncs. */
export type SyncTarget = 'segment' | 'ledger' | 'directory' | 'quarantine';

/**
 * fsync a directory, so a file created, renamed or deleted in it stays so after power loss.
 * Windows cannot open a directory for syncing (NTFS journals its metadata), so there it is
 * a no-op, as are the few filesystems that refuse it.
 */
export async function syncDirectory(path: string): Promise<void> {
  if (process.platform === 'win32') return;
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } catch (error) {
    const code = errnoCode(error);
    // EINVAL/EISDIR/ENOTSUP: this filesystem does not sync directories; nothing more to do.
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'ENOTSUP') throw error;
  } finally {
    await handle.close();
  }
}

/** Write `chunks` at `position` with one writev (looping on short writes), then nothing else. */
export async function writeChunks(
  handle: FileHandle,
  chunks: readonly Buffer[],
  position: number,
): Promise<number> {
  let remaining = chunks.filter((chunk) => chunk.length > 0);
  let at = position;
  while (remaining.length > 0) {
    const { bytesWritten } = await handle.writev(remaining, at);
    at += bytesWritten;
    let skip = bytesWritten;
    const rest: Buffer[] = [];
    for (const chunk of remaining) {
      if (skip >= chunk.length) {
        skip -= chunk.length;
      } else {
        rest.push(skip === 0 ? chunk : chunk.subarray(skip));
        skip = 0;
      }
    }
    remaining = rest;
  }
  return at - position;
}

/**
 * Replace `path` with `contents` atomically: write a temporary file, fsync it, rename it
 * over `path`, fsync the directory. A crash leaves the old file or the new one, never a mix.
 */
export async function writeFileAtomic(
  path: string,
  contents: readonly Buffer[],
  onSync: () => void,
): Promise<void> {
  const temporary = `${path}.tmp`;
  const handle = await open(temporary, 'w', 0o600);
  try {
    await writeChunks(handle, contents, 0);
    await handle.sync();
    onSync();
  } finally {
    await handle.close();
  }
  await rename(temporary, path);
}

/** Read `length` bytes at `position` of an open file. */
export async function readExactly(
  handle: FileHandle,
  position: number,
  length: number,
): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(buffer, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done === length ? buffer : buffer.subarray(0, done);
}
