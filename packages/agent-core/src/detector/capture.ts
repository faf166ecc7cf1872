import { v7 as uuidv7 } from 'uuid';

import { summarise, type LexiconMatch } from '@lantern/lexicon';
import {
  CONTEXT_MAX_CHARS,
  CaptureSchema,
  MAX_MATCHES_PER_CAPTURE,
  WINDOW_TITLE_MAX_CHARS,
  findApprovedLesson,
  loginDigest,
  type Capture,
  type CaptureScreenshot,
  type Category,
  type Policy,
} from '@lantern/protocol';

import type { Finding } from './detector.ts';

/** What the screenshot rules of a policy say for a capture of these categories. */
export type ScreenshotDecision =
  | { readonly take: true; readonly sensitive: boolean }
  | { readonly take: false; readonly reason: 'policy_off' | 'never_for_category' };

/**
 * Never for `csam_iioc`: making an image of a child that may be indecent is itself an
 * offence, so the text and the fact are recorded, never the picture. Otherwise taken if any
 * of the capture's categories says `on` or `sensitive`, hidden by default if any says
 * `sensitive` (pornography by default).
 */
export function screenshotDecision(
  policy: Policy['screenshots'],
  categories: readonly Category[],
): ScreenshotDecision {
  if (categories.includes('csam_iioc')) return { take: false, reason: 'never_for_category' };
  if (!policy.enabled) return { take: false, reason: 'policy_off' };
  const rules = categories.map((category) => policy.categories[category] ?? 'off');
  if (rules.every((rule) => rule === 'off')) return { take: false, reason: 'policy_off' };
  return { take: true, sensitive: rules.includes('sensitive') };
}

/**
 * The capture for a finding: the sentence cut to CONTEXT_MAX_CHARS around the matches
 * (spans moved with it), the matches that fit, the severity and categories they give, and
 * the policy's verdict on it: in an approved lesson (`flags.inApprovedLesson`, with the
 * exemption's id) when one of the policy's exemptions covers the logged-in user, the time
 * the finding was seen and every category of the capture (findApprovedLesson). Such a
 * capture is still made, sent and stored; the collector checks the claim and does not alert.
 * @returns undefined when nothing that flags fits (cannot happen for the detector's findings).
 */
export async function buildCapture(input: {
  finding: Finding;
  siteId: string;
  deviceId: string;
  loginName: string;
  lexiconVersion: string;
  /** The policy in force: its version is recorded, its approved lessons applied. */
  policy: Pick<Policy, 'version' | 'exemptions' | 'groupMembers'>;
  screenshot: CaptureScreenshot;
}): Promise<Capture | undefined> {
  const { finding } = input;
  const ordered = [...finding.matches].sort((a, b) => b.severity - a.severity || a.start - b.start);
  // Centre the window on the most serious match.
  const anchor = ordered[0];
  if (!anchor) return undefined;
  const text = finding.text;
  let start = 0;
  if (text.length > CONTEXT_MAX_CHARS) {
    const middle = Math.floor((anchor.start + anchor.end) / 2);
    start = Math.max(0, Math.min(text.length - CONTEXT_MAX_CHARS, middle - CONTEXT_MAX_CHARS / 2));
    // Never cut a surrogate pair in half.
    if (/[\uDC00-\uDFFF]/.test(text[start] ?? '')) start += 1;
  }
  const context = text.slice(start, start + CONTEXT_MAX_CHARS);
  const inside: LexiconMatch[] = ordered
    .filter((match) => match.start >= start && match.end <= start + context.length)
    .slice(0, MAX_MATCHES_PER_CAPTURE)
    .sort((a, b) => a.start - b.start);
  const summary = summarise(inside);
  if (!summary.flagged) return undefined;
  const categories = [...new Set(inside.map((match) => match.category))];
  const loginName = input.loginName.slice(0, 256) || 'unknown';
  const observedAt = finding.observedAt.toISOString();
  // The capture's own login and categories (matches cut off by the context window are not
  // in it): what the collector checks the flag against.
  const lesson =
    input.policy.exemptions.length === 0
      ? undefined
      : findApprovedLesson(input.policy, {
          loginDigest: await loginDigest(input.siteId, loginName),
          categories,
          observedAt,
        });
  const capture: Capture = {
    id: uuidv7({ msecs: finding.observedAt.getTime() }),
    siteId: input.siteId,
    deviceId: input.deviceId,
    observedAt,
    source: finding.source,
    app: {
      name: (finding.window?.appName ?? '').slice(0, 256),
      id: finding.window?.appId?.slice(0, 256) ?? null,
    },
    windowTitle: (finding.window?.title ?? '').slice(0, WINDOW_TITLE_MAX_CHARS),
    loginName,
    context,
    matches: inside.map((match) => ({
      termId: match.termId,
      category: match.category,
      severity: match.severity,
      span: { start: match.start - start, end: match.end - start },
      stage: match.stage,
    })),
    severity: summary.severity,
    categories,
    lexiconVersion: input.lexiconVersion,
    screenshot: input.screenshot,
    flags: {
      inApprovedLesson: lesson !== undefined,
      exemptionId: lesson?.id ?? null,
      policyVersion: input.policy.version,
    },
  };
  // Built here, checked here: a capture the collector would refuse is a bug to see at once.
  return CaptureSchema.parse(capture);
}
