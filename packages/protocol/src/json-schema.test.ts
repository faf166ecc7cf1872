import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';

import { buildJsonSchemas } from './json-schema.ts';
import { PROTOCOL_VERSION } from './limits.ts';
import {
  makeCapture,
  makeEnrolRequest,
  makeHeartbeat,
  makeHello,
  makePolicy,
  makeScreenshotFrame,
} from './testing.ts';

const schemaDir = join(dirname(dirname(fileURLToPath(import.meta.url))), 'schema');

describe('published JSON Schemas', () => {
  it('are up to date with the zod schemas (else run: pnpm --filter @lantern/protocol generate)', async () => {
    const expected = buildJsonSchemas();
    const onDisk = (await readdir(schemaDir))
      .filter((name) => name.endsWith('.schema.json'))
      .sort();
    expect(onDisk).toEqual([...expected.keys()].sort());
    for (const [name, text] of expected) {
      expect(await readFile(join(schemaDir, name), 'utf8'), name).toBe(text);
    }
  });

  it('accept what the zod schemas accept and refuse plain errors, for third-party agents', () => {
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    addFormats.default(ajv);
    ajv.addFormat('base64', /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/);
    const schemas = buildJsonSchemas();
    const validator = (name: string) => {
      const id = `https://lantern.invalid/protocol/v${PROTOCOL_VERSION}/${name}.schema.json`;
      const known = ajv.getSchema(id);
      if (known) return known;
      const text = schemas.get(`${name}.schema.json`);
      if (!text) throw new Error(`no schema ${name}`);
      return ajv.compile(JSON.parse(text) as object);
    };
    const capture = makeCapture();
    const goodAndBad: [string, unknown, unknown][] = [
      ['capture', capture, { ...capture, severity: 0 }],
      ['enrol-request', makeEnrolRequest(), { ...makeEnrolRequest(), hostname: '' }],
      ['policy', makePolicy(), { ...makePolicy(), heartbeatIntervalMs: 1 }],
      ['agent-frame', makeHello(), { ...makeHello(), protocolVersions: [] }],
      ['agent-frame', makeHeartbeat(), { ...makeHeartbeat(), session: 'asleep' }],
      ['agent-frame', makeScreenshotFrame(), { ...makeScreenshotFrame(), width: 0 }],
      [
        'capture-frame',
        { type: 'capture', v: PROTOCOL_VERSION, captures: [capture] },
        { type: 'capture', v: PROTOCOL_VERSION, captures: [] },
      ],
    ];
    for (const [name, good, bad] of goodAndBad) {
      const validate = validator(name);
      expect(validate(good), `${name}: ${JSON.stringify(validate.errors)}`).toBe(true);
      expect(validate(bad), `${name} should refuse the bad example`).toBe(false);
    }
  });
});
