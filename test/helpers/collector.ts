import { EnrolResponseSchema, type EnrolResponse } from '@lantern/protocol';
import { makeEnrolRequest } from '@lantern/protocol/testing';

import { builtProgram, startNode, type RunningProcess } from './process.ts';

/** The built collector CLI, as `npm start` runs it. */
export const collectorCli = () => builtProgram('apps/collector/dist/cli.js');

/** The environment of one collector process: only what it needs, so the tests' own never leaks in. */
export function collectorEnv(options: {
  readonly databaseUrl: string;
  readonly dataDir: string;
  /** 0 (the default) picks a free port; give the old one to restart where agents expect it. */
  readonly port?: number;
  /** Every collector of one database must share it (second-factor secrets are sealed with it). */
  readonly secretKey?: string;
}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    LANTERN_HOST: '127.0.0.1',
    LANTERN_PORT: String(options.port ?? 0),
    LANTERN_DATA_DIR: options.dataDir,
    DATABASE_URL: options.databaseUrl,
    LANTERN_LOG_LEVEL: 'warn',
    ...(options.secretKey ? { LANTERN_SECRET_KEY: options.secretKey } : {}),
  };
}

const lastLine = (output: string) => output.trim().split('\n').at(-1) ?? '';

/** Run a one-shot CLI command; fails loudly with its output unless it exits 0. */
export async function runCollectorCommand(
  env: NodeJS.ProcessEnv,
  args: readonly string[],
): Promise<{ output: string; lastLine: string }> {
  const command = startNode(collectorCli(), args, env);
  const code = await command.exited();
  const output = command.output();
  if (code !== 0) {
    throw new Error(`lantern-collector ${args.join(' ')} exited with ${code}:\n${output}`);
  }
  return { output, lastLine: lastLine(output) };
}

/** `create-site`: migrates the database and makes a site; returns its id. */
export async function createSite(env: NodeJS.ProcessEnv, name: string): Promise<string> {
  return (await runCollectorCommand(env, ['create-site', '--name', name])).lastLine;
}

/** `enrol-token`: a token for `uses` devices, valid for a day. */
export async function createEnrolmentToken(
  env: NodeJS.ProcessEnv,
  siteId: string,
  uses: number,
): Promise<string> {
  const result = await runCollectorCommand(env, [
    'enrol-token',
    '--site',
    siteId,
    '--uses',
    String(uses),
    '--days',
    '1',
  ]);
  return result.lastLine;
}

/** `create-user`: a member of staff with a generated password, which the CLI prints once. */
export async function createStaffUser(
  env: NodeJS.ProcessEnv,
  input: { email: string; name: string; role: string; siteId: string },
): Promise<{ id: string; email: string; password: string }> {
  const { output, lastLine: id } = await runCollectorCommand(env, [
    'create-user',
    '--email',
    input.email,
    '--name',
    input.name,
    '--role',
    input.role,
    '--site',
    input.siteId,
  ]);
  const password = /Password \(shown once[^)]*\): (\S+)/.exec(output)?.[1];
  if (!password) throw new Error(`create-user printed no password:\n${output}`);
  return { id, email: input.email, password };
}

/** A collector serving on a port; `process` to stop or kill it. */
export interface ServingCollector {
  readonly process: RunningProcess;
  /** e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  readonly port: number;
}

/** Start `lantern-collector serve` and wait until it says where it listens. */
export async function startCollector(env: NodeJS.ProcessEnv): Promise<ServingCollector> {
  const running = startNode(collectorCli(), ['serve'], env);
  try {
    const [, url = ''] = await running.waitFor(/Collector:\s+(http:\/\/\S+)/);
    return { process: running, url, port: Number(new URL(url).port) };
  } catch (error) {
    await running.stop('SIGKILL');
    throw error;
  }
}

/** Enrol a test device over HTTP, as the installer does. */
export async function enrolDevice(
  baseUrl: string,
  enrolmentToken: string,
  hostname: string,
): Promise<EnrolResponse> {
  const response = await fetch(`${baseUrl}/v1/enrol`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...makeEnrolRequest({ hostname }), enrolmentToken }),
  });
  if (response.status !== 201) {
    throw new Error(`enrolment at ${baseUrl} failed: ${response.status} ${await response.text()}`);
  }
  return EnrolResponseSchema.parse(await response.json());
}

/** GET `/readyz` and return its status; a connection error counts as 0. */
export async function readyStatus(baseUrl: string): Promise<number> {
  try {
    const response = await fetch(`${baseUrl}/readyz`, { signal: AbortSignal.timeout(5_000) });
    await response.arrayBuffer();
    return response.status;
  } catch {
    // No answer at all (refused, reset, timed out): neither ready nor not-ready, say 0.
    return 0;
  }
}
