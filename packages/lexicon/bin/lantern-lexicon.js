#!/usr/bin/env node
// Runs the built CLI; `pnpm build` (or npm test / npm start) builds it.
import { runLexiconCli } from '../dist/cli/lexicon.js';

process.exitCode = await runLexiconCli(process.argv.slice(2), process.stdout, process.stderr);
