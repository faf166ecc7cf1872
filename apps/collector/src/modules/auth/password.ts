import { hash, verify } from '@node-rs/argon2';

/**
 * Staff passwords: argon2id with OWASP's recommended minimum (19 MiB, 2 passes, 1 lane),
 * about 70 ms on the CI machine. The parameters travel inside each hash, so raising them
 * later only affects new hashes.
 */
const OPTIONS = {
  // Algorithm.Argon2id: a const enum, which this project's type stripping cannot read.
  algorithm: 2,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
} as const;

export function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
}

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password);
  } catch {
    return false;
  }
}

let dummyHash: Promise<string> | undefined;

/**
 * Spend the same time as a real check when there is no such user, so the time a failed
 * sign-in takes does not tell whether an email address has an account.
 */
export async function verifyAgainstNobody(password: string): Promise<false> {
  dummyHash ??= hashPassword('lantern: no such user');
  await verifyPassword(await dummyHash, password);
  return false;
}
