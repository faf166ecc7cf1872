import { z } from 'zod';

import { CaptureSchema } from './capture.ts';
import { EnrolRequestSchema, EnrolResponseSchema, ErrorBodySchema } from './enrol.ts';
import {
  AckFrameSchema,
  AgentFrameSchema,
  CaptureFrameSchema,
  CollectorFrameSchema,
  ErrorFrameSchema,
  HeartbeatFrameSchema,
  HelloFrameSchema,
  PolicyFrameSchema,
  ScreenshotAckFrameSchema,
  ScreenshotFrameSchema,
  WelcomeFrameSchema,
} from './frames.ts';
import { PROTOCOL_VERSION } from './limits.ts';
import { PolicySchema } from './policy.ts';

/** Every message of the protocol, by the file name its JSON Schema is published under. */
const PUBLISHED_SCHEMAS = {
  'enrol-request': EnrolRequestSchema,
  'enrol-response': EnrolResponseSchema,
  'error-body': ErrorBodySchema,
  capture: CaptureSchema,
  policy: PolicySchema,
  'agent-frame': AgentFrameSchema,
  'hello-frame': HelloFrameSchema,
  'capture-frame': CaptureFrameSchema,
  'screenshot-frame': ScreenshotFrameSchema,
  'heartbeat-frame': HeartbeatFrameSchema,
  'collector-frame': CollectorFrameSchema,
  'welcome-frame': WelcomeFrameSchema,
  'ack-frame': AckFrameSchema,
  'screenshot-ack-frame': ScreenshotAckFrameSchema,
  'error-frame': ErrorFrameSchema,
  'policy-frame': PolicyFrameSchema,
} satisfies Record<string, z.ZodType>;

/**
 * The JSON Schema (draft 2020-12) of every protocol message, as file name → pretty JSON
 * text, for third-party agents. Cross-field rules (span within context, categories equal to
 * the matches' categories, no screenshot for csam_iioc) are checked by the zod schemas and
 * cannot be expressed here; the schema says so in its description.
 */
export function buildJsonSchemas(): Map<string, string> {
  const files = new Map<string, string>();
  for (const [name, schema] of Object.entries(PUBLISHED_SCHEMAS)) {
    const json = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input' });
    const document = {
      $id: `https://lantern.invalid/protocol/v${PROTOCOL_VERSION}/${name}.schema.json`,
      title: `Lantern protocol v${PROTOCOL_VERSION}: ${name}`,
      description:
        'Generated from @lantern/protocol (zod). Cross-field rules are enforced by the reference implementation and listed in packages/protocol/README.md.',
      ...json,
    };
    files.set(`${name}.schema.json`, `${JSON.stringify(document, null, 2)}\n`);
  }
  return files;
}
