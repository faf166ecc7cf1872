/**
 * One contract for every blob store: the folder on disk and S3. S3 is tested against a real
 * S3-compatible server (s3rver) on loopback, over the S3 HTTP API with the AWS SDK.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import S3rver from '@20minutes/s3rver';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { FolderBlobStore, type BlobStore } from './blob-store.ts';
import { S3BlobStore } from './s3-blob-store.ts';

const BUCKET = 'lantern-test';
let folder: string;
let s3Dir: string;
let s3: S3rver;
let s3Url: string;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'lantern-blobs-'));
  s3Dir = await mkdtemp(join(tmpdir(), 'lantern-s3rver-'));
  s3 = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: s3Dir,
    configureBuckets: [{ name: BUCKET }],
  });
  const address = await s3.run();
  s3Url = `http://127.0.0.1:${address.port}`;
});

afterAll(async () => {
  await s3.close();
  await rm(folder, { recursive: true, force: true });
  await rm(s3Dir, { recursive: true, force: true });
});

const STORES: [string, () => BlobStore][] = [
  ['a folder', () => new FolderBlobStore(folder)],
  [
    'S3 (s3rver on loopback)',
    () =>
      new S3BlobStore({
        bucket: BUCKET,
        region: 'eu-west-2',
        endpoint: s3Url,
        prefix: 'screenshots/',
        forcePathStyle: true,
        credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      }),
  ],
];

function blob(): { sha256: string; bytes: Uint8Array } {
  const bytes = randomBytes(40_000);
  return { sha256: createHash('sha256').update(bytes).digest('hex'), bytes };
}

describe.each(STORES)('the blob store in %s', (_name, make) => {
  it('stores bytes under their hash, reads them back, and deletes them', async () => {
    const store = make();
    const { sha256, bytes } = blob();
    expect(await store.has(sha256)).toBe(false);
    expect(await store.get(sha256)).toBeUndefined();
    await store.put(sha256, bytes);
    expect(await store.has(sha256)).toBe(true);
    expect(Buffer.from((await store.get(sha256)) ?? [])).toEqual(Buffer.from(bytes));
    // Storing the same content again is harmless.
    await store.put(sha256, bytes);
    await store.delete(sha256);
    expect(await store.has(sha256)).toBe(false);
    await store.delete(sha256);
  });

  it('refuses a key that is not a SHA-256 digest (no path or key tricks)', async () => {
    const store = make();
    await expect(store.put('../../etc/passwd', new Uint8Array([1]))).rejects.toThrow(
      /not a SHA-256 digest/,
    );
  });
});

describe('the S3 store', () => {
  it('keeps objects under the prefix, in the content-addressed layout', async () => {
    const { sha256, bytes } = blob();
    const store = STORES[1]?.[1]() as S3BlobStore;
    await store.put(sha256, bytes);
    const client = new S3Client({
      region: 'eu-west-2',
      endpoint: s3Url,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    const object = await client.send(
      new GetObjectCommand({
        Bucket: BUCKET,
        Key: `screenshots/${sha256.slice(0, 2)}/${sha256.slice(2, 4)}/${sha256}`,
      }),
    );
    expect(Buffer.from((await object.Body?.transformToByteArray()) ?? [])).toEqual(
      Buffer.from(bytes),
    );
    client.destroy();
    store.close();
  });
});
