#!/usr/bin/env -S node --v8-pool-size=1 --max-semi-space-size=1
// Runs the built agent; `pnpm build` (or npm test / npm start) builds it.
//
// Memory: the agent idles all day beside the pupil's work, so V8 is set up for memory, not
// speed (measured by test/bench/agent-resources.ts, which found no cost to key handling).
// - On the line above, so only where this file runs as a command (`lantern-agent`, as
//   installed; `node bin/lantern-agent.js` goes without): one V8 background thread rather
//   than four, each of which keeps allocator arenas, and a young generation of 1 MB rather
//   than one that grows to 16 MB while the lexicon loads. About 4 MB less at rest, 20 MB
//   less at the peak. Both must be given when node starts.
// - Below, however the agent is started: loading the lexicon grows V8's heap to ~60 MB of
//   which ~20 MB stays live, and by default V8 keeps the rest until its memory reducer
//   happens to run, which in an idle process may be never (~120 MB resident). Optimised for
//   size it gives it back within about 10 s of start (~80 MB). A heuristic flag, safe to
//   set at run time, before the agent is loaded (hence the dynamic import).
import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--optimize-for-size');

const { runAgentCli } = await import('../dist/cli.js');

const { code, agent } = await runAgentCli(process.argv.slice(2));
if (agent) {
  let stopping = false;
  const stop = (signal) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`Stopping (${signal}): unsent captures stay in the spool.\n`);
    agent.stop().then(
      () => process.exit(0),
      (error) => {
        process.stderr.write(`stop failed: ${error.message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
} else {
  process.exitCode = code;
}
