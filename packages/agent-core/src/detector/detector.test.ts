import { beforeAll, describe, expect, it } from 'vitest';

import { loadLexicon, Matcher } from '@lantern/lexicon';
import { CaptureSchema, loginDigest, type Policy } from '@lantern/protocol';
import { makeExemption, makePolicy } from '@lantern/protocol/testing';

import type { ActiveWindow } from '../sources/source.ts';
import { buildCapture, screenshotDecision } from './capture.ts';
import { Detector, type Finding } from './detector.ts';

let matcher: Matcher;
beforeAll(async () => {
  matcher = new Matcher(await loadLexicon());
});

const chrome: ActiveWindow = {
  id: '0x1',
  title: 'New Tab - Google Chrome',
  appName: 'Google Chrome',
  appId: 'google-chrome',
  pid: 100,
};
const word: ActiveWindow = {
  id: '0x2',
  title: 'Homework.docx - Word',
  appName: 'Word',
  appId: 'winword',
  pid: 101,
};

function detector(options: { password?: boolean } = {}) {
  const findings: Finding[] = [];
  const instance = new Detector({
    matcher,
    ageBand: 'secondary',
    onFinding: (finding) => findings.push(finding),
    inPasswordField: () => options.password ?? false,
  });
  const type = (text: string) => {
    for (const char of text) instance.edit({ kind: 'text', text: char });
  };
  return { instance, findings, type };
}

describe('the detector', () => {
  it('reports a concerning typed sentence when it ends, with its window', () => {
    const { instance, findings, type } = detector();
    instance.focus(chrome);
    type('honestly nobody would even notice if i was gone. ');
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ source: 'typed', window: chrome });
    expect(findings[0]?.text).toBe('honestly nobody would even notice if i was gone.');
    expect(findings[0]?.matches.map((match) => match.category)).toContain('suicide');
  });

  it('sees the sentence as corrected with Backspace, and stays quiet for homework', () => {
    const { instance, findings, type } = detector();
    instance.focus(word);
    type('i want to kill myslf');
    instance.edit({ kind: 'backspace' });
    instance.edit({ kind: 'backspace' });
    type('elf');
    instance.edit({ kind: 'boundary', reason: 'enter' });
    expect(findings.map((finding) => finding.text)).toEqual(['i want to kill myself']);
    type('In the opium wars Britain forced China to open its ports to trade.');
    instance.edit({ kind: 'boundary', reason: 'enter' });
    expect(findings).toHaveLength(1);
  });

  it('settles a sentence when focus moves, and never joins text across windows', () => {
    const { instance, findings, type } = detector();
    instance.focus(chrome);
    type('he said not to tell my mum');
    instance.focus(word);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ window: chrome, text: 'he said not to tell my mum' });
    type('and I want to die in this poem');
    instance.focus(chrome);
    type(' what imagery');
    instance.edit({ kind: 'boundary', reason: 'enter' });
    expect(findings.map((finding) => finding.window?.id)).not.toContain(undefined);
    expect(findings.every((finding) => !finding.text.includes('imagery'))).toBe(true);
  });

  it('scans a new window title once, and new clipboard text', () => {
    const { instance, findings } = detector();
    const search = { ...chrome, title: 'how to tie a noose - Google Search - Google Chrome' };
    instance.focus(search);
    instance.focus(word);
    instance.focus(search);
    expect(findings.filter((finding) => finding.source === 'window_title')).toHaveLength(1);
    instance.clipboard('where can i get a blade to cut myself');
    expect(findings.at(-1)).toMatchObject({ source: 'clipboard' });
  });

  it('skips typing in a password field', () => {
    const { instance, findings, type } = detector({ password: true });
    instance.focus(chrome);
    type('i want to kill myself. ');
    expect(findings).toEqual([]);
  });

  it('keeps an unfinished sentence through a policy that changes neither matcher nor age band', () => {
    const { instance, findings, type } = detector();
    instance.focus(chrome);
    type('honestly nobody would even notice');
    instance.setMatcher(matcher, 'secondary');
    type(' if i was gone');
    instance.edit({ kind: 'boundary', reason: 'enter' });
    expect(findings.map((finding) => finding.text)).toEqual([
      'honestly nobody would even notice if i was gone',
    ]);
  });

  it('settles unfinished sentences under the old rules when the age band changes', () => {
    const { instance, findings, type } = detector();
    instance.focus(chrome);
    type('honestly nobody would even notice if i was gone');
    instance.setMatcher(matcher, 'primary');
    expect(findings.map((finding) => finding.text)).toEqual([
      'honestly nobody would even notice if i was gone',
    ]);
  });

  it('reports nothing while warming up, and nothing of it afterwards', () => {
    const { instance, findings, type } = detector();
    instance.warmUp();
    instance.focus(chrome);
    type('the homework is due on friday');
    instance.edit({ kind: 'boundary', reason: 'enter' });
    expect(findings).toEqual([]);
  });
});

describe('building a capture', () => {
  const identity = {
    siteId: '0b3f7d2e-5c1a-4e8b-9f60-2a7d4c8e1b93',
    deviceId: '6e1c9a47-3b2d-4f85-a0c6-7d9e2b4f1a58',
    loginName: 'SCHOOL\\jsmith',
    lexiconVersion: '2026.11.1',
    policy: makePolicy({ version: '3' }),
  };

  it('makes a valid capture whose spans point at the matched words, cutting long text around them', async () => {
    const padding = 'lorem ipsum dolor sit amet '.repeat(40);
    const finding: Finding = {
      ...matcher.scan(`${padding}nobody would notice if i was gone ${padding}`, {
        source: 'typed',
      }),
      source: 'typed',
      text: `${padding}nobody would notice if i was gone ${padding}`,
      window: chrome,
      observedAt: new Date('2026-11-23T09:30:00Z'),
    };
    const capture = await buildCapture({
      ...identity,
      finding,
      screenshot: { status: 'omitted', reason: 'policy_off' },
    });
    expect(capture).toBeDefined();
    if (!capture) return;
    expect(CaptureSchema.safeParse(capture).success).toBe(true);
    expect(capture.context.length).toBeLessThanOrEqual(500);
    const [match] = capture.matches;
    expect(capture.context.slice(match?.span.start, match?.span.end)).toMatch(/nobody/);
    expect(capture).toMatchObject({ source: 'typed', app: { name: 'Google Chrome' }, severity: 5 });
    expect(capture.flags).toEqual({
      inApprovedLesson: false,
      exemptionId: null,
      policyVersion: '3',
    });
  });

  it('never takes a screenshot for csam_iioc, hides pornography, and follows the policy', () => {
    const { screenshots } = makePolicy();
    expect(screenshotDecision(screenshots, ['csam_iioc', 'grooming_cse'])).toEqual({
      take: false,
      reason: 'never_for_category',
    });
    expect(screenshotDecision(screenshots, ['pornography'])).toEqual({
      take: true,
      sensitive: true,
    });
    expect(screenshotDecision(screenshots, ['suicide'])).toEqual({ take: true, sensitive: false });
    expect(screenshotDecision({ ...screenshots, enabled: false }, ['suicide'])).toEqual({
      take: false,
      reason: 'policy_off',
    });
  });
});

describe('an approved lesson', () => {
  const siteId = '0b3f7d2e-5c1a-4e8b-9f60-2a7d4c8e1b93';
  // A PSHE lesson for 9R on self-harm and suicide, 10:00–11:00 on 24 November.
  const lesson = makeExemption({
    groups: ['9R'],
    categories: ['self_harm', 'suicide'],
    startsAt: '2026-11-24T10:00:00Z',
    endsAt: '2026-11-24T11:00:00Z',
  });
  let policy: Policy;
  beforeAll(async () => {
    policy = makePolicy({
      version: '4',
      siteId,
      exemptions: [lesson],
      // jsmith is in 9R; the collector resolved it from the MIS import.
      groupMembers: { '9R': [await loginDigest(siteId, 'jsmith')] },
    });
  });

  async function capture(text: string, options: { at: string; loginName?: string }) {
    const finding: Finding = {
      ...matcher.scan(text, { source: 'typed' }),
      source: 'typed',
      text,
      window: chrome,
      observedAt: new Date(options.at),
    };
    const built = await buildCapture({
      finding,
      siteId,
      deviceId: '6e1c9a47-3b2d-4f85-a0c6-7d9e2b4f1a58',
      loginName: options.loginName ?? 'SCHOOL\\JSmith',
      lexiconVersion: '2026.11.1',
      policy,
      screenshot: { status: 'omitted', reason: 'policy_off' },
    });
    if (!built) throw new Error('the text should have made a capture');
    expect(CaptureSchema.safeParse(built).success).toBe(true);
    return built;
  }

  it('marks a capture of a pupil in its group, in its time and its categories, with its id', async () => {
    const made = await capture('i want to cut myself', { at: '2026-11-24T10:15:00Z' });
    expect(made.categories).toEqual(['self_harm']);
    expect(made.flags).toEqual({
      inApprovedLesson: true,
      exemptionId: lesson.id,
      policyVersion: '4',
    });
    // Still a full capture: recorded, with its matches and severity.
    expect(made.severity).toBe(5);
  });

  it('does not mark a capture before the lesson starts or from the moment it ends', async () => {
    for (const at of ['2026-11-24T09:59:59Z', '2026-11-24T11:00:00Z', '2026-11-25T10:15:00Z']) {
      const made = await capture('i want to cut myself', { at });
      expect(made.flags.inApprovedLesson, at).toBe(false);
      expect(made.flags.exemptionId, at).toBeNull();
    }
  });

  it('does not mark a capture of a pupil outside its groups', async () => {
    const made = await capture('i want to cut myself', {
      at: '2026-11-24T10:15:00Z',
      loginName: 'SCHOOL\\akhan',
    });
    expect(made.flags.inApprovedLesson).toBe(false);
  });

  it('does not mark a capture with a category the lesson is not about, even beside one it is', async () => {
    const drugs = await capture('where can i buy weed', { at: '2026-11-24T10:15:00Z' });
    expect(drugs.flags.inApprovedLesson).toBe(false);
    const mixed = await capture('i want to cut myself and buy weed', {
      at: '2026-11-24T10:15:00Z',
    });
    expect(mixed.categories).toEqual(expect.arrayContaining(['self_harm', 'drugs']));
    expect(mixed.flags.inApprovedLesson).toBe(false);
  });
});
