import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { open, readFile, rename } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import { watch, type FSWatcher } from 'chokidar';

import {
  CATEGORY_IDS,
  PolicySchema,
  describeIssues,
  type Category,
  type Policy,
  type ScreenshotRule,
} from '@lantern/protocol';

/** The collector's last policy, cached so the agent works offline and after a restart. */
export const CACHED_POLICY_FILE = 'policy.json';
/** A policy a technician drops in by hand (offline devices, testing): it wins while present and valid. */
export const LOCAL_POLICY_FILE = 'policy.local.json';

export interface PolicyStoreEvents {
  change: [Policy, 'collector' | 'local' | 'built-in'];
  /** A policy that was refused, and why (the last good one stays in force). */
  problem: [{ code: 'POLICY_FILE_INVALID'; message: string }];
}

/**
 * What the agent follows before any policy has arrived: screenshots on except `csam_iioc`
 * (never) and pornography (hidden by default), a generic login notice, a 256 MB spool.
 */
export function builtInPolicy(siteId: string, lexiconVersion: string): Policy {
  const categories = Object.fromEntries(
    CATEGORY_IDS.map((id): [Category, ScreenshotRule] => [
      id,
      id === 'csam_iioc' ? 'off' : id === 'pornography' ? 'sensitive' : 'on',
    ]),
  ) as Record<Category, ScreenshotRule>;
  return {
    version: 'built-in',
    siteId,
    issuedAt: new Date(0).toISOString(),
    lexicon: { version: lexiconVersion, ageBand: 'secondary', overrides: [] },
    exemptions: [],
    groupMembers: {},
    screenshots: { enabled: true, maxWidthPx: 1280, quality: 70, categories },
    banner: {
      schoolName: 'Your school',
      title: 'This device is monitored',
      text: 'To help keep everyone safe, what is typed and shown on this school device is monitored. If anything is worrying you, talk to any member of staff.',
      contact: "Your school's Designated Safeguarding Lead",
    },
    spool: { maxBytes: 256 * 1024 * 1024, maxAgeDays: 60 },
    heartbeatIntervalMs: 60_000,
  };
}

/**
 * The policy in force: a technician's local file if present and valid, else the collector's
 * (cached on disk), else the built-in one. The local file is watched (chokidar) and
 * reloaded on change; a bad file is refused with a clear message and the last good policy
 * stays in force.
 */
export class PolicyStore extends EventEmitter<PolicyStoreEvents> {
  private readonly dataDir: string;
  private readonly siteId: string;
  private readonly fallback: Policy;
  private fromCollector: Policy | undefined;
  private local: Policy | undefined;
  private watcher: FSWatcher | undefined;

  constructor(options: { dataDir: string; siteId: string; lexiconVersion: string }) {
    super();
    this.dataDir = options.dataDir;
    this.siteId = options.siteId;
    this.fallback = builtInPolicy(options.siteId, options.lexiconVersion);
  }

  get current(): Policy {
    return this.local ?? this.fromCollector ?? this.fallback;
  }

  get origin(): 'collector' | 'local' | 'built-in' {
    return this.local ? 'local' : this.fromCollector ? 'collector' : 'built-in';
  }

  /** The version the collector should know the device holds (its own, not a local override). */
  get collectorVersion(): string | null {
    return this.fromCollector?.version ?? null;
  }

  /** Read the cached and local policies and start watching the local file. */
  async start(): Promise<void> {
    const cached = await this.read(join(this.dataDir, CACHED_POLICY_FILE));
    if (cached) this.fromCollector = cached;
    const localPath = join(this.dataDir, LOCAL_POLICY_FILE);
    const local = await this.read(localPath);
    if (local) this.local = local;
    this.watcher = watch(localPath, {
      ignoreInitial: true,
      awaitWriteFinish: { stabilityThreshold: 200 },
    });
    const reload = async () => {
      const before = this.current;
      const next = await this.read(localPath);
      if (next) this.local = next;
      if (this.current !== before) this.emit('change', this.current, this.origin);
    };
    this.watcher.on('add', () => void reload());
    this.watcher.on('change', () => void reload());
    this.watcher.on('unlink', () => {
      const before = this.current;
      this.local = undefined;
      if (this.current !== before) this.emit('change', this.current, this.origin);
    });
    await new Promise<void>((resolve) => this.watcher?.once('ready', () => resolve()));
  }

  async stop(): Promise<void> {
    await this.watcher?.close();
  }

  /** A policy from the collector: cached on disk, in force unless a local file overrides it. */
  async receive(policy: Policy): Promise<void> {
    const checked = this.check(policy, 'the collector’s policy');
    if (!checked) return;
    const before = this.current;
    this.fromCollector = checked;
    await writeAtomically(join(this.dataDir, CACHED_POLICY_FILE), JSON.stringify(checked));
    if (this.current !== before) this.emit('change', this.current, this.origin);
  }

  private async read(path: string): Promise<Policy | undefined> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      this.problem(`${path} cannot be read (${(error as Error).message}).`);
      return undefined;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      this.problem(`${path} is not valid JSON: ${(error as Error).message}.`);
      return undefined;
    }
    return this.check(json, path);
  }

  private check(value: unknown, where: string): Policy | undefined {
    const parsed = PolicySchema.safeParse(value);
    if (!parsed.success) {
      this.problem(`${where} is not a valid policy: ${describeIssues(parsed.error)}.`);
      return undefined;
    }
    if (parsed.data.siteId !== this.siteId) {
      this.problem(
        `${where} is for site ${parsed.data.siteId}, but this device belongs to ${this.siteId}.`,
      );
      return undefined;
    }
    return parsed.data;
  }

  private problem(message: string): void {
    this.emit('problem', {
      code: 'POLICY_FILE_INVALID',
      message: `${message} The policy in force (${this.current.version}) stays.`,
    });
  }
}

async function writeAtomically(path: string, text: string): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}`);
  const handle = await open(temporary, 'wx', 0o600);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, path);
}
