#!/usr/bin/env node
// Runs the built CLI; `pnpm build` (or npm test / npm start) builds it.
import { runScanCli } from '../dist/cli/scan.js';

process.exitCode = await runScanCli(
  process.argv.slice(2),
  process.stdin,
  process.stdout,
  process.stderr,
);
