#!/usr/bin/env node
// The two commands of the README, on a machine that has Node and nothing else:
//   npm start  → install, build and start Lantern, print where to go
//   npm test   → install what the tests need, then typecheck, lint, build and run every test
// Plain JavaScript with no dependencies on purpose: it runs before anything is installed.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const rootPackage = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const pnpmVersion = rootPackage.packageManager.replace(/^pnpm@/, '');

/**
 * Debian packages the test suites need. Keep this list in step with the suites: a test
 * that needs one of these fails loudly when it is missing rather than passing silently.
 */
const TEST_DEBIAN_PACKAGES = [
  // A real X server, window manager, typing, clipboard and screen grabs for the agent's tests.
  'xvfb',
  'openbox',
  'xdotool',
  'xclip',
  'x11-utils',
  'x11-xserver-utils',
  'x11-xkb-utils',
  'x11-apps',
  'libxtst6',
  // initdb and pg_ctl for the test that stops a private PostgreSQL under load.
  'postgresql',
];

/** The PostgreSQL the medium tests run against (trust auth on CI; a password is ignored there). */
const TEST_DATABASE_URL =
  process.env.LANTERN_TEST_DATABASE_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432/test';

const step = (message) => console.log(`\n\u001b[1m▸ ${message}\u001b[0m`);
const fail = (message) => {
  console.error(`\n\u001b[31m✗ ${message}\u001b[0m`);
  process.exit(1);
};

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', ...options });
  if (result.error) fail(`Could not run ${command}: ${result.error.message}`);
  if (result.status !== 0) {
    fail(`\`${[command, ...args].join(' ')}\` exited with ${result.status ?? result.signal}.`);
  }
}

function checkNode() {
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major < 20 || (major === 20 && minor < 19)) {
    fail(`Lantern needs Node 20.19 or newer; this is Node ${process.versions.node}.`);
  }
}

/** The pinned pnpm: the one on PATH if it is that version, else a private copy from npm. */
function ensurePnpm() {
  const onPath = spawnSync('pnpm', ['--version'], { encoding: 'utf8' });
  if (onPath.status === 0 && onPath.stdout.trim() === pnpmVersion) return 'pnpm';
  const cacheHome = process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache');
  const prefix = join(cacheHome, 'lantern', `pnpm-${pnpmVersion}`);
  const bin = join(prefix, 'node_modules', '.bin', 'pnpm');
  if (!existsSync(bin)) {
    step(`Installing pnpm ${pnpmVersion} into ${prefix}`);
    run('npm', [
      'install',
      '--prefix',
      prefix,
      '--no-save',
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
      `pnpm@${pnpmVersion}`,
    ]);
  }
  // Scripts that call `pnpm` themselves (pnpm typecheck → pnpm -r …) must find this one.
  process.env.PATH = `${dirname(bin)}:${process.env.PATH ?? ''}`;
  return bin;
}

function isDebianPackageInstalled(name) {
  const result = spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' });
  return result.status === 0 && result.stdout.includes('install ok installed');
}

function ensureDebianPackages(names) {
  if (names.length === 0) return;
  if (!existsSync('/usr/bin/dpkg-query')) {
    console.warn(
      `This is not a Debian or Ubuntu machine: make sure these are installed: ${names.join(' ')}`,
    );
    return;
  }
  const missing = names.filter((name) => !isDebianPackageInstalled(name));
  if (missing.length === 0) return;
  const line = `apt-get install -y --no-install-recommends ${missing.join(' ')}`;
  if (process.getuid?.() !== 0) {
    fail(`The tests need Debian packages that are not installed. Run, as root:\n\n  ${line}\n`);
  }
  step(`Installing Debian packages the tests need: ${missing.join(' ')}`);
  run('apt-get', ['update', '-q']);
  run('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...missing], {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}

function canConnect(host, port, timeoutMs = 2000) {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** The medium tests need a real PostgreSQL; make sure one answers, or say how to get one. */
async function ensurePostgres() {
  const url = new URL(TEST_DATABASE_URL);
  const host = url.hostname;
  const port = Number(url.port || 5432);
  if (await canConnect(host, port)) return;
  const isRoot = process.getuid?.() === 0;
  if (isRoot && existsSync('/usr/bin/pg_ctlcluster')) {
    step(`Starting PostgreSQL (nothing answered at ${host}:${port})`);
    for (const version of spawnSync('ls', ['/etc/postgresql'], { encoding: 'utf8' })
      .stdout.split('\n')
      .filter(Boolean)) {
      spawnSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start'], {
        stdio: 'inherit',
      });
    }
  } else if (isRoot && existsSync('/usr/bin/dpkg-query')) {
    // A fresh machine with no PostgreSQL at all: install Debian's, and give the
    // superuser the password the test URL uses. Only ever done to a server we installed.
    ensureDebianPackages(['postgresql']);
    for (const version of spawnSync('ls', ['/etc/postgresql'], { encoding: 'utf8' })
      .stdout.split('\n')
      .filter(Boolean)) {
      spawnSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start'], {
        stdio: 'inherit',
      });
    }
    const password = decodeURIComponent(url.password || 'postgres');
    const psql = (sql) =>
      spawnSync('runuser', ['-u', 'postgres', '--', 'psql', '-v', 'ON_ERROR_STOP=1', '-c', sql], {
        stdio: 'inherit',
      });
    psql(`ALTER USER postgres PASSWORD '${password.replaceAll("'", "''")}'`);
    psql(`CREATE DATABASE ${url.pathname.slice(1) || 'test'}`);
  }
  for (let attempt = 0; attempt < 30; attempt += 1) {
    if (await canConnect(host, port)) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  fail(
    `The tests need PostgreSQL at ${host}:${port} (LANTERN_TEST_DATABASE_URL) and nothing answers.\n` +
      `  Start it (as root): pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\n` +
      `  or point LANTERN_TEST_DATABASE_URL at a PostgreSQL 15+ database the tests may write to.`,
  );
}

async function main() {
  const command = process.argv[2];
  if (command !== 'start' && command !== 'test') {
    fail('Usage: node scripts/lantern.mjs start|test (or: npm start, npm test)');
  }
  checkNode();
  const pnpm = ensurePnpm();

  step('Installing dependencies (pnpm install --frozen-lockfile)');
  run(pnpm, ['install', '--frozen-lockfile', '--prefer-offline']);

  if (command === 'start') {
    step('Building the collector');
    run(pnpm, ['--filter', '@lantern/collector...', 'build']);
    step('Starting Lantern');
    const child = spawn(
      process.execPath,
      [join(root, 'apps/collector/dist/cli.js'), 'serve', '--demo'],
      {
        cwd: root,
        stdio: 'inherit',
      },
    );
    for (const signal of ['SIGINT', 'SIGTERM']) {
      process.on(signal, () => child.kill(signal));
    }
    child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
    return;
  }

  step('Checking what the tests need on this machine');
  ensureDebianPackages(TEST_DEBIAN_PACKAGES);
  await ensurePostgres();
  step('Type-checking every package');
  run(pnpm, ['typecheck']);
  step('Linting and checking formatting');
  run(pnpm, ['lint']);
  run(pnpm, ['format:check']);
  step('Building every package');
  run(pnpm, ['build']);
  step('Running every test');
  run(pnpm, ['test:unit'], {
    env: { ...process.env, LANTERN_TEST_DATABASE_URL: TEST_DATABASE_URL },
  });
}

await main();
