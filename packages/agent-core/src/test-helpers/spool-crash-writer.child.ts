/**
 * A child process for the spool's crash test (spool.test.ts): appends captures from 16
 * concurrent writers as fast as it can, acks four in five, and prints `stored <id>` /
 * `acked <id>` once each call has resolved (and `acking <id>` before an ack starts), until
 * the test kills it with SIGKILL.
 *
 *     node --conditions=@lantern/source --import tsx spool-crash-writer.child.ts <dir> <key hex>
 */
import { createHash } from 'node:crypto';

import { makeCapture, testUuidV7 } from '@lantern/protocol/testing';

import { Spool } from '../spool/spool.ts';

const [dir, keyHex] = process.argv.slice(2);
if (dir === undefined || keyHex === undefined) {
  throw new Error('usage: spool-crash-writer.child.ts <dir> <key hex>');
}
const spool = await Spool.open({
  dir,
  key: Buffer.from(keyHex, 'hex'),
  // Segments of 1 MiB: several per run, so mostly acked ones are compacted while it writes.
  maxBytes: 16 * 1024 * 1024,
  maxAgeDays: 30,
});
process.stdout.write('ready\n');

let next = 0;
async function writer(): Promise<never> {
  for (;;) {
    const index = next++;
    const withScreenshot = index % 5 === 0;
    const bytes = withScreenshot ? Buffer.alloc(20_000 + (index % 7) * 1000, index % 251) : null;
    const capture = makeCapture({
      id: testUuidV7(Date.now(), index + 1),
      observedAt: new Date().toISOString(),
      severity: 1 + (index % 5),
      screenshot: bytes
        ? {
            status: 'attached',
            sha256: createHash('sha256').update(bytes).digest('hex'),
            mediaType: 'image/webp',
            bytes: bytes.length,
            width: 640,
            height: 360,
            sensitive: false,
          }
        : { status: 'omitted', reason: 'policy_off' },
    });
    await spool.append(capture, bytes ?? undefined);
    process.stdout.write(`stored ${capture.id}\n`);
    if (index % 5 !== 1) {
      process.stdout.write(`acking ${capture.id}\n`);
      await spool.ack([capture.id]);
      process.stdout.write(`acked ${capture.id}\n`);
    }
  }
}

await Promise.all(Array.from({ length: 16 }, writer));
