import { resolve } from 'node:path';

import { describe, expect, it } from 'vitest';

import { loadConfig } from './config.ts';

describe('loadConfig', () => {
  it('defaults to embedded PGlite in the data folder on 127.0.0.1:8080', () => {
    const config = loadConfig({});
    expect(config).toEqual({
      host: '127.0.0.1',
      port: 8080,
      dataDir: resolve('.lantern/data'),
      database: { kind: 'pglite', dir: resolve('.lantern/data/pglite') },
      logLevel: 'info',
      publicUrl: 'http://127.0.0.1:8080',
      secretKey: undefined,
      blobs: { kind: 'folder', dir: resolve('.lantern/data/blobs') },
    });
  });

  it('keeps screenshots in S3 when a bucket is named', () => {
    const config = loadConfig({
      LANTERN_S3_BUCKET: 'lantern-screenshots',
      LANTERN_S3_ENDPOINT: 'http://minio.internal:9000',
      LANTERN_S3_FORCE_PATH_STYLE: 'true',
    });
    expect(config.blobs).toEqual({
      kind: 's3',
      bucket: 'lantern-screenshots',
      region: 'eu-west-2',
      endpoint: 'http://minio.internal:9000',
      prefix: 'screenshots/',
      forcePathStyle: true,
    });
    expect(() => loadConfig({ LANTERN_S3_FORCE_PATH_STYLE: 'yes' })).toThrow(
      /LANTERN_S3_FORCE_PATH_STYLE: must be true or false/,
    );
  });

  it('takes the public URL and the secret key, and rejects a key of the wrong size', () => {
    const key = Buffer.alloc(32, 7).toString('base64');
    const config = loadConfig({
      LANTERN_PUBLIC_URL: 'https://lantern.example.org/',
      LANTERN_SECRET_KEY: key,
    });
    expect(config.publicUrl).toBe('https://lantern.example.org');
    expect(config.secretKey?.length).toBe(32);
    expect(() => loadConfig({ LANTERN_SECRET_KEY: 'c2hvcnQ=' })).toThrow(
      /LANTERN_SECRET_KEY: must be 32 bytes in base64/,
    );
  });

  it('uses PostgreSQL when DATABASE_URL is set, and treats empty variables as unset', () => {
    const config = loadConfig({ DATABASE_URL: 'postgres://db.internal/lantern', LANTERN_PORT: '' });
    expect(config.database).toEqual({ kind: 'postgres', url: 'postgres://db.internal/lantern' });
    expect(config.port).toBe(8080);
  });

  it('names every bad variable and what it must be', () => {
    expect(() => loadConfig({ LANTERN_PORT: 'eighty', DATABASE_URL: 'mysql://x' })).toThrow(
      /LANTERN_PORT: must be a number; DATABASE_URL: must start with postgres:\/\//,
    );
    expect(() => loadConfig({ LANTERN_PORT: '70000' })).toThrow(/LANTERN_PORT: must be 0–65535/);
    expect(() => loadConfig({ LANTERN_LOG_LEVEL: 'loud' })).toThrow(
      expect.objectContaining({
        code: 'CONFIG_INVALID',
        message: expect.stringContaining('see .env.example'),
      }),
    );
  });
});
