import { cp, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Spool, type SpoolEntry } from '@lantern/agent-core';

import { builtProgram, startNode, type RunningProcess } from './process.ts';

/** The built `lantern-agent` CLI, as a device runs it. */
export const agentCli = () => builtProgram('packages/agent-core/bin/lantern-agent.js');

/**
 * Start the built `lantern-agent` on X display `display`, keeping its identity, policy and
 * spool in `dataDir`. Give `enrol` the first time; afterwards the identity in `dataDir`
 * says where the collector is. Resolves at once: wait on the output for what you need.
 */
export function startAgentProcess(options: {
  readonly dataDir: string;
  readonly display: string;
  readonly enrol?: { readonly collectorUrl: string; readonly token: string };
}): RunningProcess {
  const { dataDir, display, enrol } = options;
  return startNode(
    agentCli(),
    [
      ...(enrol ? ['--collector', enrol.collectorUrl, '--enrol-token', enrol.token] : []),
      '--data-dir',
      dataDir,
      '--layout',
      'us',
    ],
    // Only what the agent needs, so the tests' own environment never leaks in.
    { PATH: process.env.PATH, DISPLAY: display, LC_ALL: 'C.UTF-8', HOME: dataDir },
  );
}

/**
 * The captures waiting in an agent's spool (`<dataDir>/spool`, key `<dataDir>/spool.key`),
 * read from a copy so the agent's files are never touched: open the copy, list what is
 * pending, delete the copy. On a stopped agent this is exactly what its next start will
 * send. On a running one the copy may catch a write half done, which the spool's recovery
 * cuts off (in the copy), so a capture written a moment ago may be missing: ask again.
 */
export async function readAgentSpool(dataDir: string): Promise<SpoolEntry[]> {
  const key = await readFile(join(dataDir, 'spool.key'));
  const copy = await mkdtemp(join(tmpdir(), 'lantern-spool-copy-'));
  try {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await cp(join(dataDir, 'spool'), copy, { recursive: true, force: true });
        break;
      } catch (error) {
        // A segment deleted (compacted) between listing and copying: copy again.
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 5) throw error;
        await rm(copy, { recursive: true, force: true });
      }
    }
    // Limits far above the agent's: the copy must evict and expire nothing.
    const spool = await Spool.open({ dir: copy, key, maxBytes: 2 ** 40, maxAgeDays: 3650 });
    try {
      return await spool.pending({ limit: Number.MAX_SAFE_INTEGER });
    } finally {
      await spool.close();
    }
  } finally {
    await rm(copy, { recursive: true, force: true });
  }
}

/**
 * The names, sizes and modification times of the files in an agent's spool: cheap to take,
 * and while it stays the same, so does what the spool holds. Empty before the spool exists.
 */
export async function spoolFingerprint(dataDir: string): Promise<string> {
  const dir = join(dataDir, 'spool');
  let names: string[];
  try {
    names = await readdir(dir, { recursive: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw error;
  }
  const parts = await Promise.all(
    names.sort().map(async (name) => {
      try {
        const info = await stat(join(dir, name), { bigint: true });
        return `${name}:${info.size}:${info.mtimeNs}`;
      } catch {
        // Deleted since the listing (a compacted segment): that is a change too.
        return `${name}:gone`;
      }
    }),
  );
  return parts.join('|');
}
