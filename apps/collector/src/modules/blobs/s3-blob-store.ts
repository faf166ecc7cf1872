import { createHash } from 'node:crypto';

import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  NoSuchKey,
  NotFound,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';

import type { BlobStore } from './blob-store.ts';

export interface S3BlobStoreOptions {
  readonly bucket: string;
  readonly region: string;
  /** For S3-compatible stores (MinIO, Ceph, a cloud's own): their URL. Unset: AWS. */
  readonly endpoint?: string | undefined;
  /** Key prefix, e.g. `lantern/screenshots/`. */
  readonly prefix?: string | undefined;
  /** Path-style URLs (`endpoint/bucket/key`), which most S3-compatible stores need. */
  readonly forcePathStyle?: boolean | undefined;
  /** Credentials; unset, the AWS SDK's own chain (environment, profile, instance role). */
  readonly credentials?: { accessKeyId: string; secretAccessKey: string } | undefined;
}

const SHA256 = /^[0-9a-f]{64}$/;

/**
 * Screenshots in an S3 bucket (or an S3-compatible store), content-addressed like the
 * folder store: `<prefix>ab/cd/<sha256>`. Objects are private (no ACL is ever granted and
 * the collector never hands out a URL): the API reads them through here after its role
 * check. A read checks the bytes against their hash, so a corrupted object is refused.
 */
export class S3BlobStore implements BlobStore {
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;

  constructor(options: S3BlobStoreOptions) {
    this.bucket = options.bucket;
    this.prefix = options.prefix ?? '';
    this.client = new S3Client({
      region: options.region,
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      forcePathStyle: options.forcePathStyle ?? false,
      ...(options.credentials ? { credentials: options.credentials } : {}),
      // Plain request bodies: S3-compatible stores do not all take the SDK's streamed checksums.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  private keyOf(sha256: string): string {
    if (!SHA256.test(sha256)) throw new Error(`not a SHA-256 digest: ${sha256.slice(0, 80)}`);
    return `${this.prefix}${sha256.slice(0, 2)}/${sha256.slice(2, 4)}/${sha256}`;
  }

  async put(sha256: string, bytes: Uint8Array): Promise<void> {
    // S3 writes are atomic and durable once acknowledged; the same hash is the same bytes.
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: this.keyOf(sha256),
        Body: bytes,
        ContentType: 'application/octet-stream',
        ContentMD5: createHash('md5').update(bytes).digest('base64'),
      }),
    );
  }

  async get(sha256: string): Promise<Uint8Array | undefined> {
    try {
      const response = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.keyOf(sha256) }),
      );
      const bytes = await response.Body?.transformToByteArray();
      if (!bytes) return undefined;
      const actual = createHash('sha256').update(bytes).digest('hex');
      if (actual !== sha256)
        throw new Error(`the stored object ${sha256} does not match its hash (it reads ${actual})`);
      return bytes;
    } catch (error) {
      if (error instanceof NoSuchKey || isNotFound(error)) return undefined;
      throw error;
    }
  }

  async has(sha256: string): Promise<boolean> {
    try {
      await this.client.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: this.keyOf(sha256) }),
      );
      return true;
    } catch (error) {
      if (error instanceof NotFound || isNotFound(error)) return false;
      throw error;
    }
  }

  async delete(sha256: string): Promise<void> {
    await this.client.send(
      new DeleteObjectCommand({ Bucket: this.bucket, Key: this.keyOf(sha256) }),
    );
  }

  close(): void {
    this.client.destroy();
  }
}

function isNotFound(error: unknown): boolean {
  return error instanceof S3ServiceException && error.$metadata.httpStatusCode === 404;
}
