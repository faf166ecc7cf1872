import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { CollectorConfig } from '../../config.ts';
import { CollectorError } from '../../errors.ts';

const KEY_FILE = 'secret.key';
const VERSION = 'v1';

/**
 * The collector's key for secrets kept at rest (second-factor secrets): LANTERN_SECRET_KEY
 * when set (every collector of one database must share it), else a key file made once in
 * the data folder, readable by the collector's account only.
 */
export async function loadSecretKey(config: CollectorConfig): Promise<Buffer> {
  if (config.secretKey) return config.secretKey;
  const path = join(config.dataDir, KEY_FILE);
  await mkdir(config.dataDir, { recursive: true });
  try {
    // `wx`: two collectors starting together on one folder must not both write a key.
    await writeFile(path, randomBytes(32).toString('base64'), { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const key = Buffer.from((await readFile(path, 'utf8')).trim(), 'base64');
  if (key.length !== 32) {
    throw new CollectorError(
      'CONFIG_INVALID',
      `The key file ${path} does not hold 32 bytes in base64. Restore it from backup; a new key would make every second factor unreadable.`,
    );
  }
  return key;
}

/** Encrypt with AES-256-GCM: `v1.<iv>.<tag>.<ciphertext>`, base64url parts. */
export function seal(key: Buffer, plaintext: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return [VERSION, iv, cipher.getAuthTag(), body]
    .map((part) => (typeof part === 'string' ? part : part.toString('base64url')))
    .join('.');
}

/** Decrypt what `seal` made. @throws if it was made with another key or altered. */
export function unseal(key: Buffer, sealed: string): string {
  const [version, iv, tag, body] = sealed.split('.');
  if (version !== VERSION || !iv || !tag || body === undefined)
    throw new Error('not a sealed secret');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([
    decipher.update(Buffer.from(body, 'base64url')),
    decipher.final(),
  ]).toString('utf8');
}
