import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';

import { applySiteOverrides, loadLexicon, Matcher, type Lexicon } from '@lantern/lexicon';
import type {
  AgentHealth,
  CaptureScreenshot,
  Policy,
  SessionState,
  SourceState,
} from '@lantern/protocol';

import { buildCapture, screenshotDecision } from './detector/capture.ts';
import { Detector, type Finding } from './detector/detector.ts';
import { AgentError } from './errors.ts';
import { PolicyStore } from './policy/policy-store.ts';
import type { EncodedScreenshot } from './screenshot/index.ts';
import type {
  ClipboardSource,
  SessionSource,
  TypingSource,
  WindowSource,
} from './sources/source.ts';
import { loadOrCreateSpoolKey, Spool } from './spool/index.ts';
import { CollectorLink, type OutboundQueue } from './transport/collector-link.ts';
import { enrol, readIdentity, writeIdentity, type Identity } from './transport/enrol.ts';

/** What the agent logs: codes and counts, never captured text. */
export interface AgentLogEvent {
  readonly level: 'info' | 'warn' | 'error';
  readonly code: string;
  readonly message: string;
}

export interface AgentOptions {
  readonly dataDir: string;
  readonly agentVersion: string;
  /** Needed for the first start (enrolment); afterwards the identity file holds the address. */
  readonly collectorUrl?: string | undefined;
  readonly enrolmentToken?: string | undefined;
  readonly sources: {
    readonly window?: WindowSource;
    readonly typing?: TypingSource;
    readonly clipboard?: ClipboardSource;
    readonly session?: SessionSource;
  };
  /** Takes and encodes a screenshot of the screen now; absent where there is no screen. */
  readonly screenshot?: (options: {
    maxWidthPx: number;
    quality: number;
  }) => Promise<EncodedScreenshot>;
  /** A lexicon folder other than the shipped one (tests). */
  readonly lexiconDir?: string;
  readonly log?: (event: AgentLogEvent) => void;
}

/**
 * The agent: enrols once, then watches the sources, keeps what matches as captures (each
 * fsync'd in the spool before it is sent), streams them to the collector, and applies the
 * policy the collector sends. `stop()` settles unfinished sentences, waits for their
 * captures to reach the spool, and closes everything; the spool keeps what is unacked.
 */
export class Agent {
  readonly identity: Identity;
  private readonly options: AgentOptions;
  private readonly spool: Spool;
  private readonly policies: PolicyStore;
  private readonly link: CollectorLink;
  private readonly lexicon: Lexicon;
  /** The matcher in force and the overrides it was built with: a new policy reuses it when they are the same. */
  private matcher: { readonly overrides: string; readonly matcher: Matcher } | undefined;
  private readonly detector: Detector;
  private session: { loginName: string | null; state: SessionState } = {
    loginName: null,
    state: 'active',
  };
  private lastError: AgentHealth['lastError'] = null;
  private readonly startedAt = Date.now();
  private readonly inProgress = new Set<Promise<void>>();
  private screenshotState: SourceState;
  /** Captures made since start (stored in the spool). */
  capturesMade = 0;

  private constructor(
    options: AgentOptions,
    parts: { identity: Identity; spool: Spool; policies: PolicyStore; lexicon: Lexicon },
  ) {
    this.options = options;
    this.identity = parts.identity;
    this.spool = parts.spool;
    this.policies = parts.policies;
    this.lexicon = parts.lexicon;
    this.screenshotState = options.screenshot ? 'running' : 'unsupported';
    this.detector = this.makeDetector(this.policies.current);
    this.link = new CollectorLink({
      collectorUrl: this.identity.collectorUrl,
      deviceId: this.identity.deviceId,
      credential: this.identity.credential,
      agentVersion: options.agentVersion,
      queue: this.queue(),
      policyVersion: () => this.policies.collectorVersion,
      heartbeat: () => ({
        loginName: this.session.loginName,
        session: this.session.state,
        policyVersion:
          this.policies.current.version === 'built-in' ? null : this.policies.current.version,
        health: this.health(),
        banner: null,
      }),
    });
  }

  /** Enrol if needed, open the spool and policy, start the sources and the link. */
  static async start(options: AgentOptions): Promise<Agent> {
    await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
    let identity = await readIdentity(options.dataDir);
    if (!identity) {
      if (!options.collectorUrl || !options.enrolmentToken) {
        throw new AgentError(
          'AGENT_CONFIG_INVALID',
          'This device is not enrolled yet: give the collector address and an enrolment token (--collector URL --enrol-token TOKEN).',
        );
      }
      identity = await enrol({
        collectorUrl: options.collectorUrl,
        enrolmentToken: options.enrolmentToken,
        agentVersion: options.agentVersion,
      });
      await writeIdentity(options.dataDir, identity);
    }
    const lexicon = forMatching(
      await loadLexicon(options.lexiconDir ? { dir: options.lexiconDir } : {}),
    );
    const policies = new PolicyStore({
      dataDir: options.dataDir,
      siteId: identity.siteId,
      lexiconVersion: lexicon.version,
    });
    await policies.start();
    const key = await loadOrCreateSpoolKey(join(options.dataDir, 'spool.key'));
    const spool = await Spool.open({
      dir: join(options.dataDir, 'spool'),
      key,
      maxBytes: policies.current.spool.maxBytes,
      maxAgeDays: policies.current.spool.maxAgeDays,
    });
    const agent = new Agent(options, { identity, spool, policies, lexicon });
    await agent.begin();
    return agent;
  }

  private log(level: AgentLogEvent['level'], code: string, message: string): void {
    this.options.log?.({ level, code, message });
    if (level !== 'info')
      this.lastError = { code, message: message.slice(0, 500), at: new Date().toISOString() };
  }

  private async begin(): Promise<void> {
    this.policies.on('change', (policy, origin) => {
      this.log('info', 'POLICY_APPLIED', `policy ${policy.version} (${origin}) in force`);
      // The same detector: it keeps the focused window and each window's unfinished sentence,
      // settled under the old rules only if the matcher or the age band changes.
      this.detector.setMatcher(this.matcherFor(policy), policy.lexicon.ageBand);
      void this.spool
        .setLimits(policy.spool)
        .catch((error: unknown) =>
          this.log('warn', 'SPOOL_LIMITS_FAILED', (error as Error).message),
        );
    });
    this.policies.on('problem', (problem) => this.log('warn', problem.code, problem.message));
    this.link.on('policy', (policy) => void this.policies.receive(policy));
    this.link.on('state', (state) => this.log('info', 'LINK_STATE', state));
    this.link.on('fatal', (fatal) => this.log('error', fatal.code, fatal.message));
    this.link.on('problem', (problem) => this.log('warn', problem.code, problem.message));
    const { window, typing, clipboard, session } = this.options.sources;
    if (typing) this.detector.warmUp();
    await session?.start((info) => {
      if (info.state !== 'active') this.detector.settleAll();
      this.session = { loginName: info.loginName, state: info.state };
    });
    await window?.start((active) => this.detector.focus(active));
    await typing?.start((edit) => this.detector.edit(edit));
    await clipboard?.start((text) => this.detector.clipboard(text));
    this.link.start();
  }

  /**
   * The matcher for a policy's lexicon overrides, built only when they differ from the last
   * policy's: building one takes ~100 ms and a few MB of garbage, and most policies (and
   * the collector's first, replacing the built-in one) change none.
   */
  private matcherFor(policy: Policy): Matcher {
    const overrides = JSON.stringify(policy.lexicon.overrides);
    if (this.matcher?.overrides === overrides) return this.matcher.matcher;
    let lexicon = this.lexicon;
    if (policy.lexicon.overrides.length > 0) {
      try {
        lexicon = applySiteOverrides(this.lexicon, policy.lexicon.overrides, policy.version);
      } catch (error) {
        this.log('warn', 'POLICY_OVERRIDES_INVALID', (error as Error).message);
      }
    }
    const matcher = new Matcher(lexicon);
    this.matcher = { overrides, matcher };
    return matcher;
  }

  private makeDetector(policy: Policy): Detector {
    return new Detector({
      matcher: this.matcherFor(policy),
      ageBand: policy.lexicon.ageBand,
      // Out of the key callback: a screenshot spawns a process, which must not hold up keys.
      onFinding: (finding) =>
        this.track(
          new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.capture(finding)),
        ),
      ...(this.options.sources.typing?.inPasswordField
        ? { inPasswordField: this.options.sources.typing.inPasswordField }
        : {}),
    });
  }

  private track(work: Promise<void>): void {
    this.inProgress.add(work);
    void work.finally(() => this.inProgress.delete(work));
  }

  private async capture(finding: Finding): Promise<void> {
    try {
      const policy = this.policies.current;
      const categories = [...new Set(finding.matches.map((match) => match.category))];
      const decision = screenshotDecision(policy.screenshots, categories);
      let reference: CaptureScreenshot;
      let bytes: Uint8Array | undefined;
      if (!decision.take) reference = { status: 'omitted', reason: decision.reason };
      else if (!this.options.screenshot || this.session.state !== 'active')
        reference = { status: 'omitted', reason: 'not_applicable' };
      else {
        try {
          const shot = await this.options.screenshot({
            maxWidthPx: policy.screenshots.maxWidthPx,
            quality: policy.screenshots.quality,
          });
          bytes = shot.bytes;
          reference = {
            status: 'attached',
            sha256: createHash('sha256').update(shot.bytes).digest('hex'),
            mediaType: shot.mediaType,
            bytes: shot.bytes.byteLength,
            width: shot.width,
            height: shot.height,
            sensitive: decision.sensitive,
          };
          this.screenshotState = 'running';
        } catch (error) {
          this.screenshotState = 'failed';
          this.log('warn', 'SCREENSHOT_FAILED', (error as Error).message);
          reference = { status: 'omitted', reason: 'failed' };
        }
      }
      const capture = await buildCapture({
        finding,
        siteId: this.identity.siteId,
        deviceId: this.identity.deviceId,
        loginName: this.session.loginName ?? 'unknown',
        lexiconVersion: this.lexicon.version,
        policy,
        screenshot: reference,
      });
      if (!capture) return;
      const outcome = await this.spool.append(capture, bytes);
      if (outcome === 'stored') {
        this.capturesMade += 1;
        this.link.notify();
      } else if (outcome !== 'already_pending') {
        this.log('warn', 'CAPTURE_DROPPED', `a capture was dropped: ${outcome}`);
      }
    } catch (error) {
      this.log('error', 'CAPTURE_FAILED', (error as Error).message);
    }
  }

  private queue(): OutboundQueue {
    return {
      pending: async (limit) =>
        (await this.spool.pending({ limit })).map((entry) => {
          const ref = entry.capture.screenshot;
          return ref.status === 'attached' && entry.screenshot
            ? {
                capture: entry.capture,
                screenshot: {
                  bytes: entry.screenshot,
                  sha256: ref.sha256,
                  mediaType: ref.mediaType,
                  width: ref.width,
                  height: ref.height,
                },
              }
            : { capture: entry.capture };
        }),
      acked: async (ids) => {
        await this.spool.ack(ids);
      },
      // The collector will never take it: set aside in the spool's quarantine, counted.
      rejected: async (id, code) => {
        this.log('error', 'CAPTURE_REJECTED', `the collector refused a capture for good (${code})`);
        await this.spool.setAside(id, code);
      },
    };
  }

  /** What the heartbeat reports. */
  health(): AgentHealth {
    const { window, typing, clipboard } = this.options.sources;
    const stats = this.spool.stats();
    return {
      sources: {
        window_title: window?.state ?? 'unsupported',
        typed: typing?.state ?? 'unsupported',
        clipboard: clipboard?.state ?? 'unsupported',
        screenshot: this.screenshotState,
      },
      spool: { depth: stats.depth, bytes: stats.bytes, oldestObservedAt: stats.oldestObservedAt },
      droppedCount: stats.droppedCount,
      lastError: this.lastError ?? stats.lastError,
      uptimeS: Math.floor((Date.now() - this.startedAt) / 1000),
    };
  }

  get linkState() {
    return this.link.state;
  }

  /** Captures in the spool not yet acknowledged. */
  get pendingCount(): number {
    return this.spool.stats().depth;
  }

  async stop(): Promise<void> {
    const { window, typing, clipboard, session } = this.options.sources;
    await Promise.allSettled([typing?.stop(), window?.stop(), clipboard?.stop(), session?.stop()]);
    this.detector.settleAll();
    await Promise.allSettled([...this.inProgress]);
    await this.link.stop();
    await this.policies.stop();
    await this.spool.close();
  }
}

/**
 * The lexicon as the agent keeps it: what matching reads, without the terms' examples and
 * notes (for reviewers and `lantern-lexicon check`), and copied, so that no string still
 * points into the YAML text it was parsed from (V8 keeps a whole file alive for one slice
 * of it). About 5 MB less heap for as long as the agent runs.
 */
function forMatching(lexicon: Lexicon): Lexicon {
  const { terms, exclusions } = structuredClone({
    terms: lexicon.terms.map((term) => ({
      ...term,
      note: '',
      examples: { match: [], noMatch: [] },
    })),
    exclusions: lexicon.exclusions.map((exclusion) => ({
      ...exclusion,
      note: '',
      examples: undefined,
    })),
  });
  return {
    version: lexicon.version,
    terms,
    exclusions,
    ...(lexicon.classifier ? { classifier: lexicon.classifier } : {}),
  };
}
