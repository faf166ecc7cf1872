import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Where screenshot bytes live, addressed by their SHA-256 (so storing the same image twice
 * is free and a resend is harmless). Never served by a public URL: the API reads through
 * here after its role check.
 */
export interface BlobStore {
  /** Store bytes under their hash; durable when the promise resolves. */
  put(sha256: string, bytes: Uint8Array): Promise<void>;
  get(sha256: string): Promise<Uint8Array | undefined>;
  has(sha256: string): Promise<boolean>;
  delete(sha256: string): Promise<void>;
}

const SHA256 = /^[0-9a-f]{64}$/;

/** A content-addressed folder: `<dir>/ab/cd/<sha256>`, written atomically and fsynced. */
export class FolderBlobStore implements BlobStore {
  private readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  private pathOf(sha256: string): string {
    // The hash becomes a path: refuse anything that is not one.
    if (!SHA256.test(sha256)) throw new Error(`not a SHA-256 digest: ${sha256.slice(0, 80)}`);
    return join(this.dir, sha256.slice(0, 2), sha256.slice(2, 4), sha256);
  }

  async put(sha256: string, bytes: Uint8Array): Promise<void> {
    const path = this.pathOf(sha256);
    if (await this.has(sha256)) return;
    await mkdir(join(path, '..'), { recursive: true });
    // Write beside it, fsync, then rename: a crash leaves the old state or the whole file.
    const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    const handle = await open(temporary, 'wx', 0o600);
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
  }

  async get(sha256: string): Promise<Uint8Array | undefined> {
    try {
      return await readFile(this.pathOf(sha256));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async has(sha256: string): Promise<boolean> {
    try {
      await stat(this.pathOf(sha256));
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
  }

  async delete(sha256: string): Promise<void> {
    await rm(this.pathOf(sha256), { force: true });
  }
}
