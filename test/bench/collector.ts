// Runs the collector benchmarks one after another, each in a process of its own (a clean
// heap for the memory figures; one benchmark's sockets and timers never touch the next).
// Run: pnpm bench:collector [ingest|reconnect-storm|idle-connections|triage-queue …]
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const BENCHMARKS = ['ingest', 'reconnect-storm', 'idle-connections', 'triage-queue'] as const;
/** Each benchmark enforces its own time limit; this one only catches a process that will not exit. */
const PROCESS_LIMIT_MS = 10 * 60_000;

const asked = process.argv.slice(2);
const unknown = asked.filter((name) => !(BENCHMARKS as readonly string[]).includes(name));
if (unknown.length > 0) {
  console.error(`Unknown benchmark ${unknown.join(', ')}: choose from ${BENCHMARKS.join(', ')}.`);
  process.exit(2);
}
const failed: string[] = [];
for (const name of asked.length > 0 ? asked : BENCHMARKS) {
  const run = spawnSync(
    process.execPath,
    [
      '--expose-gc',
      '--conditions=@lantern/source',
      '--import',
      'tsx',
      join(import.meta.dirname, `collector-${name}.ts`),
    ],
    { stdio: 'inherit', timeout: PROCESS_LIMIT_MS, killSignal: 'SIGKILL' },
  );
  if (run.status !== 0) failed.push(`${name} (${run.signal ?? `exit ${run.status}`})`);
}
if (failed.length > 0) {
  console.error(`\nCollector benchmarks that failed: ${failed.join(', ')}`);
  process.exit(1);
}
