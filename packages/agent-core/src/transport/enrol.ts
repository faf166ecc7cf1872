import { randomBytes } from 'node:crypto';
import { open, readFile, rename } from 'node:fs/promises';
import { arch, hostname, platform, release } from 'node:os';
import { dirname, join } from 'node:path';

import { z } from 'zod';

import {
  ENROL_PATH,
  EnrolResponseSchema,
  ErrorBodySchema,
  SecretSchema,
  UuidSchema,
  type Platform,
} from '@lantern/protocol';

import { AgentError } from '../errors.ts';

/** Who this device is to its collector: kept in a file only the agent's account can read. */
export const IdentitySchema = z.strictObject({
  collectorUrl: z.url(),
  deviceId: UuidSchema,
  siteId: UuidSchema,
  credential: SecretSchema,
  enrolledAt: z.iso.datetime({ offset: true }),
});
export type Identity = z.infer<typeof IdentitySchema>;

export const IDENTITY_FILE = 'identity.json';

function thisPlatform(): Platform {
  const name = platform();
  return name === 'win32' ? 'windows' : name === 'darwin' ? 'macos' : 'linux';
}

/**
 * Enrol this device with a technician's token: POST /v1/enrol buys a device id and a
 * credential. Errors say what to do: the collector is unreachable, or it refused the token
 * (unknown, expired, revoked or used up, in the collector's own words).
 */
export async function enrol(input: {
  collectorUrl: string;
  enrolmentToken: string;
  agentVersion: string;
}): Promise<Identity> {
  const url = new URL(ENROL_PATH, input.collectorUrl);
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        enrolmentToken: input.enrolmentToken,
        hostname: hostname().slice(0, 253) || 'unknown',
        os: { platform: thisPlatform(), release: release().slice(0, 100), arch: arch() },
        agentVersion: input.agentVersion,
      }),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (cause) {
    const detail = (cause as { cause?: { code?: string } }).cause?.code ?? (cause as Error).message;
    throw new AgentError(
      'COLLECTOR_UNREACHABLE',
      `Cannot reach the collector at ${url.origin} (${detail}). Check the address and that this device can reach it on the network.`,
      { cause },
    );
  }
  const body: unknown = await response.json().catch(() => undefined);
  if (response.status !== 201) {
    const error = ErrorBodySchema.safeParse(body);
    throw new AgentError(
      'ENROL_REFUSED',
      error.success
        ? `The collector refused enrolment (${error.data.code}): ${error.data.message}`
        : `The collector at ${url.origin} answered enrolment with HTTP ${response.status}: is that the Lantern collector's address?`,
    );
  }
  const enrolled = EnrolResponseSchema.parse(body);
  return {
    collectorUrl: input.collectorUrl,
    deviceId: enrolled.deviceId,
    siteId: enrolled.siteId,
    credential: enrolled.deviceCredential,
    enrolledAt: new Date().toISOString(),
  };
}

/** Read the identity, or undefined before the first enrolment. @throws AgentError if the file is damaged. */
export async function readIdentity(dataDir: string): Promise<Identity | undefined> {
  const path = join(dataDir, IDENTITY_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const parsed = IdentitySchema.safeParse(JSON.parse(text));
  if (!parsed.success) {
    throw new AgentError(
      'AGENT_CONFIG_INVALID',
      `${path} is damaged; delete it and start the agent with an enrolment token to enrol again.`,
    );
  }
  return parsed.data;
}

/** Write the identity atomically (temp file, fsync, rename), readable by the agent's account only. */
export async function writeIdentity(dataDir: string, identity: Identity): Promise<void> {
  const path = join(dataDir, IDENTITY_FILE);
  const temporary = join(dirname(path), `.${IDENTITY_FILE}.${randomBytes(4).toString('hex')}`);
  const handle = await open(temporary, 'wx', 0o600);
  try {
    await handle.writeFile(JSON.stringify(identity, null, 2));
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, path);
}
