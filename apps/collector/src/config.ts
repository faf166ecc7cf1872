import { resolve } from 'node:path';

import { z } from 'zod';

import { describeIssues } from '@lantern/protocol';

import { CollectorError } from './errors.ts';

const PortSchema = z.coerce
  .number({ message: 'must be a number' })
  .int('must be a whole number')
  .min(0, 'must be 0–65535')
  .max(65535, 'must be 0–65535');

/**
 * The collector's environment, parsed once at boot. Nothing else reads `process.env`.
 * See `.env.example` at the repository root for every variable.
 */
export const EnvSchema = z.object({
  LANTERN_HOST: z.string().min(1).default('127.0.0.1'),
  LANTERN_PORT: PortSchema.default(8080),
  /** Where the embedded database and the screenshot store live. */
  LANTERN_DATA_DIR: z.string().min(1).default('.lantern/data'),
  /** A PostgreSQL URL; unset means embedded PGlite in the data folder. */
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must start with postgres:// or postgresql://')
    .optional(),
  LANTERN_LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info'),
  /**
   * The address staff reach the dashboard at (links in emails; `https://` makes the session
   * cookie Secure). Default: http://LANTERN_HOST:LANTERN_PORT.
   */
  LANTERN_PUBLIC_URL: z
    .url({ protocol: /^https?$/, message: 'must be an http:// or https:// URL' })
    .optional(),
  /**
   * 32 random bytes, base64: encrypts second-factor secrets at rest. Every collector of one
   * database needs the same key; unset, one is made in the data folder on first start.
   */
  /** Screenshots in S3 (or an S3-compatible store) instead of the data folder. */
  LANTERN_S3_BUCKET: z.string().min(3).max(63).optional(),
  LANTERN_S3_REGION: z.string().min(1).default('eu-west-2'),
  /** An S3-compatible store's URL (MinIO, Ceph…); unset means AWS. */
  LANTERN_S3_ENDPOINT: z
    .url({ message: 'must be a URL such as https://minio.internal:9000' })
    .optional(),
  LANTERN_S3_PREFIX: z.string().max(200).default('screenshots/'),
  LANTERN_S3_FORCE_PATH_STYLE: z
    .enum(['true', 'false'], { message: 'must be true or false' })
    .default('false'),
  LANTERN_SECRET_KEY: z
    .string()
    .regex(/^[A-Za-z0-9+/]{43}=$/, 'must be 32 bytes in base64 (openssl rand -base64 32)')
    .optional(),
});

/** The collector's settings, with paths resolved. */
export interface CollectorConfig {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly database:
    | { readonly kind: 'pglite'; readonly dir: string }
    | { readonly kind: 'postgres'; readonly url: string };
  readonly logLevel: z.infer<typeof EnvSchema>['LANTERN_LOG_LEVEL'];
  readonly publicUrl: string;
  /** Where screenshots are kept: the data folder, or S3 (credentials from the AWS SDK's chain). */
  readonly blobs:
    | { readonly kind: 'folder'; readonly dir: string }
    | {
        readonly kind: 's3';
        readonly bucket: string;
        readonly region: string;
        readonly endpoint: string | undefined;
        readonly prefix: string;
        readonly forcePathStyle: boolean;
      };
  /** From LANTERN_SECRET_KEY; undefined means the data folder's key file. */
  readonly secretKey: Buffer | undefined;
}

/**
 * Read the collector's configuration from the environment.
 * @throws CollectorError `CONFIG_INVALID` naming each bad variable and what it must be.
 */
export function loadConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): CollectorConfig {
  // An empty variable means unset: `LANTERN_PORT= lantern-collector` should use the default.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const parsed = EnvSchema.safeParse(present);
  if (!parsed.success) {
    throw new CollectorError(
      'CONFIG_INVALID',
      `The collector's configuration is invalid: ${describeIssues(parsed.error)}. Fix these environment variables (see .env.example) and start again.`,
    );
  }
  const vars = parsed.data;
  const dataDir = resolve(vars.LANTERN_DATA_DIR);
  return {
    host: vars.LANTERN_HOST,
    port: vars.LANTERN_PORT,
    dataDir,
    database: vars.DATABASE_URL
      ? { kind: 'postgres', url: vars.DATABASE_URL }
      : { kind: 'pglite', dir: resolve(dataDir, 'pglite') },
    logLevel: vars.LANTERN_LOG_LEVEL,
    blobs: vars.LANTERN_S3_BUCKET
      ? {
          kind: 's3',
          bucket: vars.LANTERN_S3_BUCKET,
          region: vars.LANTERN_S3_REGION,
          endpoint: vars.LANTERN_S3_ENDPOINT,
          prefix: vars.LANTERN_S3_PREFIX,
          forcePathStyle: vars.LANTERN_S3_FORCE_PATH_STYLE === 'true',
        }
      : { kind: 'folder', dir: resolve(dataDir, 'blobs') },
    publicUrl: (
      vars.LANTERN_PUBLIC_URL ?? `http://${vars.LANTERN_HOST}:${vars.LANTERN_PORT}`
    ).replace(/\/+$/, ''),
    secretKey: vars.LANTERN_SECRET_KEY ? Buffer.from(vars.LANTERN_SECRET_KEY, 'base64') : undefined,
  };
}
