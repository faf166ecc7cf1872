import { randomBytes } from 'node:crypto';

import type { Category } from '@lantern/protocol';
import { testUuidV7 } from '@lantern/protocol/testing';

import type { Db } from '../db/database.ts';
import { captureMatches, captures } from '../modules/captures/capture.table.ts';
import { devices } from '../modules/devices/device.table.ts';

let sequence = 0;

/** An enrolled device row, for tests that need captures without an agent. */
export async function seedDevice(db: Db, siteId: string, hostname = 'LAB1-PC01'): Promise<string> {
  const [device] = await db
    .insert(devices)
    .values({
      siteId,
      hostname,
      platform: 'windows',
      osRelease: '10.0.22631',
      arch: 'x64',
      agentVersion: '0.1.0',
      credentialHash: randomBytes(32).toString('hex'),
    })
    .returning({ id: devices.id });
  if (!device) throw new Error('device insert returned nothing');
  return device.id;
}

/** A stored capture with one match, as ingest would have stored it. */
export async function seedCapture(
  db: Db,
  input: {
    siteId: string;
    deviceId: string;
    severity?: number;
    observedAt?: Date;
    subjectKind?: 'pupil' | 'staff';
    subjectId?: string | null;
    status?: 'new' | 'in_review' | 'false_positive' | 'no_further_action' | 'escalated';
    category?: Category;
    context?: string;
  },
): Promise<string> {
  sequence += 1;
  const observedAt = input.observedAt ?? new Date(Date.UTC(2026, 10, 2, 9, 0, sequence % 60));
  const id = testUuidV7(observedAt.getTime(), sequence);
  const category = input.category ?? 'self_harm';
  const context = input.context ?? 'i want to hurt myself tonight';
  await db.insert(captures).values({
    id,
    siteId: input.siteId,
    deviceId: input.deviceId,
    subjectId: input.subjectId ?? null,
    subjectKind: input.subjectKind ?? 'pupil',
    observedAt,
    source: 'typed',
    appName: 'Google Chrome',
    windowTitle: 'Search - Google Chrome',
    loginName: 'jsmith',
    context,
    severity: input.severity ?? 4,
    categories: [category],
    lexiconVersion: '2026.11.1',
    policyVersion: '1',
    status: input.status ?? 'new',
  });
  await db.insert(captureMatches).values({
    captureId: id,
    ordinal: 0,
    termId: 'sh.test',
    category,
    severity: input.severity ?? 4,
    spanStart: 0,
    spanEnd: Math.min(context.length, 6),
    stage: 'lexicon',
  });
  return id;
}
