import { z } from 'zod';

/** An RFC 9562 UUID version 7: time-ordered, made on the device, so ingest can be idempotent. */
export const UuidV7Schema = z.uuidv7();

/** Any RFC 9562 UUID, for ids the collector makes (sites, devices, exemptions). */
export const UuidSchema = z.uuid();

/** An ISO 8601 date-time with an explicit offset (`Z` or `+01:00`), never a local time. */
export const DateTimeSchema = z.iso.datetime({ offset: true });

/** A lowercase hex SHA-256 digest, as used for content-addressed screenshots. */
export const Sha256Schema = z
  .string()
  .regex(/^[0-9a-f]{64}$/, 'must be a lowercase hex SHA-256 digest');

/** A version label: policy, lexicon or agent version (`2026.11.1`, `1.4.0-beta.2`). */
export const VersionSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/,
    'must be 1–64 letters, digits, ".", "_", "+" or "-", starting with a letter or digit',
  );

/** A lexicon term id: the engine's own (`sh.cutting.intent`) or a site's own (`site.abc`). */
export const TermIdSchema = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9._-]{0,127}$/,
    'must be 1–128 lowercase letters, digits, ".", "_" or "-"',
  );

/** An opaque secret (enrolment token, device credential): URL-safe characters only. */
export const SecretSchema = z
  .string()
  .min(24, 'is too short to be a Lantern secret')
  .max(256)
  .regex(/^[A-Za-z0-9_-]+$/, 'must contain only letters, digits, "_" and "-"');

/** The operating systems Lantern's agent runs on. */
export const PlatformSchema = z.enum(['windows', 'macos', 'linux']);
export type Platform = z.infer<typeof PlatformSchema>;
