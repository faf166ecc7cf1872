// Writes packages/protocol/schema/*.schema.json from the zod schemas.
// Run: pnpm --filter @lantern/protocol generate
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { buildJsonSchemas } from '../src/json-schema.ts';

const outDir = join(dirname(dirname(fileURLToPath(import.meta.url))), 'schema');
await mkdir(outDir, { recursive: true });
const files = buildJsonSchemas();
for (const existing of await readdir(outDir)) {
  if (existing.endsWith('.schema.json') && !files.has(existing)) await rm(join(outDir, existing));
}
for (const [name, text] of files) await writeFile(join(outDir, name), text);
console.log(`wrote ${files.size} JSON Schemas to ${outDir}`);
