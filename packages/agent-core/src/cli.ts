/**
 * `lantern-agent`: the headless agent on Linux/X11 (development, tests, kiosks), and on
 * Windows and macOS without screenshots (there the Electron shell takes them, through
 * desktopCapturer, and runs the same core).
 */
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';

import { LanternError } from '@lantern/protocol';

import { Agent, type AgentOptions } from './agent.ts';
import { encodeScreenshot, X11ScreenGrabber } from './screenshot/index.ts';
import { checkXExtension } from './sources/linux/index.ts';
import { createPlatformSources } from './sources/platform.ts';

const require = createRequire(import.meta.url);
export const AGENT_VERSION: string = (require('../package.json') as { version: string }).version;

const USAGE = `lantern-agent ${AGENT_VERSION}

Usage: lantern-agent --data-dir DIR [--collector URL --enrol-token TOKEN] [--layout uk|us]

  --collector URL      the collector's address, http(s)://host:port (first start only)
  --enrol-token TOKEN  the enrolment token from the technician (first start only)
  --data-dir DIR       where the agent keeps its identity, policy and spool (readable by
                       the agent's account only)
  --layout uk|us       the keyboard layout (default: the X server's, else us)
  --help, --version

On Linux, needs an X11 display (DISPLAY); typing is watched only where the X server has
the RECORD extension. On Windows and macOS it runs without screenshots.
`;

/**
 * The X11 checks before the agent starts: a display, and RECORD (without which the keyboard
 * hook would abort the process; the agent runs without typing then).
 * @returns the display, or undefined when the agent cannot run (the reason is written to `err`).
 */
async function checkX11(
  env: NodeJS.ProcessEnv,
  err: NodeJS.WritableStream,
): Promise<string | undefined> {
  if (!env.DISPLAY) {
    err.write(
      'DISPLAY_UNAVAILABLE: no X11 display (DISPLAY is not set). Run the agent in the pupil’s X session.\n',
    );
    return undefined;
  }
  const record = await checkXExtension(env.DISPLAY, 'RECORD');
  if (!record.ok) {
    err.write(
      record.reason === 'no_display'
        ? `DISPLAY_UNAVAILABLE: cannot reach the X server at ${env.DISPLAY}. Run the agent in the pupil’s X session.\n`
        : 'DISPLAY_UNAVAILABLE: xdpyinfo is missing (Debian package x11-utils): the agent needs it to check the display.\n',
    );
    return undefined;
  }
  if (!record.present) {
    err.write(
      `TYPING_SOURCE_NO_RECORD: the X server at ${env.DISPLAY} has no RECORD extension, so typed text cannot be watched (window titles, the clipboard and screenshots still are). Enable RECORD in the X server's configuration.\n`,
    );
  }
  return env.DISPLAY;
}

export async function runAgentCli(
  argv: readonly string[],
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): Promise<{ code: number; agent?: Agent }> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        collector: { type: 'string' },
        'enrol-token': { type: 'string' },
        'data-dir': { type: 'string' },
        layout: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' },
      },
    }));
  } catch (error) {
    err.write(`${(error as Error).message}\n\n${USAGE}`);
    return { code: 2 };
  }
  if (values.help) {
    out.write(USAGE);
    return { code: 0 };
  }
  if (values.version) {
    out.write(`${AGENT_VERSION}\n`);
    return { code: 0 };
  }
  const dataDir = values['data-dir'];
  if (!dataDir) {
    err.write(`--data-dir is required.\n\n${USAGE}`);
    return { code: 2 };
  }
  if (values.layout !== undefined && values.layout !== 'uk' && values.layout !== 'us') {
    err.write(`--layout must be uk or us.\n\n${USAGE}`);
    return { code: 2 };
  }
  if (values.collector !== undefined && !/^https?:\/\/[^/\s]+/.test(values.collector)) {
    err.write(
      `--collector must be the collector's address, such as http://collector.school:8080.\n`,
    );
    return { code: 2 };
  }
  let screenshot: AgentOptions['screenshot'];
  if (platform === 'linux') {
    const checked = await checkX11(env, err);
    if (!checked) return { code: 1 };
    const grabber = new X11ScreenGrabber({ display: checked });
    screenshot = async (options) => encodeScreenshot(await grabber.grab(), options);
  }
  try {
    const agent = await Agent.start({
      dataDir,
      agentVersion: AGENT_VERSION,
      collectorUrl: values.collector,
      enrolmentToken: values['enrol-token'],
      sources: createPlatformSources({
        platform,
        display: env.DISPLAY,
        layout: values.layout ?? 'detect',
      }),
      ...(screenshot ? { screenshot } : {}),
      log: (event) => {
        // Codes and states only: the agent never logs what a pupil typed.
        (event.level === 'info' ? out : err).write(
          `${event.level} ${event.code}: ${event.message}\n`,
        );
      },
    });
    out.write(
      `Lantern agent ${AGENT_VERSION} is running: device ${agent.identity.deviceId}, collector ${agent.identity.collectorUrl}, data in ${dataDir}.\n`,
    );
    return { code: 0, agent };
  } catch (error) {
    const message =
      error instanceof LanternError ? `${error.code}: ${error.message}` : String(error);
    err.write(`${message}\n`);
    return { code: 1 };
  }
}
