#!/usr/bin/env node
// Runs the built agent; `pnpm build` (or npm test / npm start) builds it.
import { runAgentCli } from '../dist/cli.js';

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
