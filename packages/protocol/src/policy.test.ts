import { beforeAll, describe, expect, it } from 'vitest';

import { PolicyChangeSchema } from './api.ts';
import type { Category } from './categories.ts';
import { describeIssues } from './frames.ts';
import { MAX_GROUP_MEMBERS } from './limits.ts';
import { loginDigest } from './login.ts';
import {
  ExemptionSchema,
  findApprovedLesson,
  PolicySchema,
  SiteOverrideSchema,
  type Policy,
} from './policy.ts';
import { makeExemption, makePolicy, TEST_SITE_ID } from './testing.ts';

const exemption = {
  id: '3d0c5e2a-8b1f-4c6d-9e7a-1b2c3d4e5f60',
  reason: 'Year 9 PSHE lesson on self-harm awareness',
  groups: ['9R', '9S'],
  categories: ['self_harm' as const],
  startsAt: '2026-11-24T10:00:00Z',
  endsAt: '2026-11-24T11:00:00Z',
  approvedBy: 'Deputy Head',
};

describe('PolicySchema', () => {
  it('accepts a policy with overrides and an approved lesson', () => {
    const policy = makePolicy({
      exemptions: [exemption],
      lexicon: {
        version: '2026.11.0',
        ageBand: 'primary',
        overrides: [
          {
            action: 'add_term',
            termId: 'site.local-gang',
            pattern: 'the north road crew',
            category: 'criminal_exploitation',
            severity: 3,
            language: 'en',
            note: 'local name',
          },
          { action: 'disable_term', termId: 'gambling.bet', note: 'maths lessons on probability' },
          { action: 'set_severity', termId: 'drugs.weed', severity: 2, note: '' },
          {
            action: 'add_exclusion',
            exclusionId: 'site.scunthorpe-fc',
            pattern: 'scunthorpe united',
            note: '',
          },
        ],
      },
    });
    const result = PolicySchema.safeParse(policy);
    expect(result.success ? '' : describeIssues(result.error)).toBe('');
  });

  it('needs a rule for every category', () => {
    const policy = makePolicy();
    const { gambling: _dropped, ...categories } = policy.screenshots.categories;
    const result = PolicySchema.safeParse({
      ...policy,
      screenshots: { ...policy.screenshots, categories },
    });
    expect(result.success ? '' : describeIssues(result.error)).toContain(
      'screenshots.categories.gambling',
    );
  });

  it('bounds the spool and the heartbeat interval', () => {
    expect(
      PolicySchema.safeParse(makePolicy({ spool: { maxBytes: 10, maxAgeDays: 30 } })).success,
    ).toBe(false);
    expect(PolicySchema.safeParse(makePolicy({ heartbeatIntervalMs: 100 })).success).toBe(false);
  });
});

describe('SiteOverrideSchema', () => {
  it('keeps site terms in their own namespace', () => {
    const result = SiteOverrideSchema.safeParse({
      action: 'add_term',
      termId: 'sh.blade',
      pattern: 'x',
      category: 'self_harm',
      severity: 3,
      language: 'en',
      note: '',
    });
    expect(result.success ? '' : describeIssues(result.error)).toBe(
      'termId: a site term id starts with "site."',
    );
  });

  it('refuses an unknown action', () => {
    expect(SiteOverrideSchema.safeParse({ action: 'delete_everything', termId: 'x' }).success).toBe(
      false,
    );
  });
});

describe('ExemptionSchema', () => {
  it('refuses a lesson that ends before it starts', () => {
    const result = ExemptionSchema.safeParse({ ...exemption, endsAt: '2026-11-24T09:00:00Z' });
    expect(result.success ? '' : describeIssues(result.error)).toBe(
      'endsAt: endsAt must be after startsAt',
    );
  });

  it('refuses an exemption for no group', () => {
    expect(ExemptionSchema.safeParse({ ...exemption, groups: [] }).success).toBe(false);
  });

  it('refuses a lesson covering csam_iioc: those captures always alert', () => {
    const result = ExemptionSchema.safeParse({
      ...exemption,
      categories: ['pornography', 'csam_iioc'],
    });
    expect(result.success ? '' : describeIssues(result.error)).toBe(
      'categories: an approved lesson cannot cover csam_iioc: those captures always alert',
    );
  });
});

describe('groupMembers', () => {
  it('reads a policy cached before approved lessons had members as having none', () => {
    const { groupMembers: _none, ...older } = makePolicy();
    expect(PolicySchema.parse(older).groupMembers).toEqual({});
  });

  it('holds login digests only, and at most MAX_GROUP_MEMBERS in all', () => {
    const named = PolicySchema.safeParse(makePolicy({ groupMembers: { '9R': ['jsmith'] } }));
    expect(named.success ? '' : describeIssues(named.error)).toBe(
      'groupMembers.9R[0]: must be a login digest: 16 lowercase hex characters',
    );
    const digest = 'ad2278d7fe2b74b4';
    const half = Array.from({ length: MAX_GROUP_MEMBERS / 2 }, () => digest);
    expect(
      PolicySchema.safeParse(makePolicy({ groupMembers: { '9R': half, '9S': half } })).success,
    ).toBe(true);
    const over = PolicySchema.safeParse(
      makePolicy({ groupMembers: { '9R': half, '9S': [...half, digest] } }),
    );
    expect(over.success ? '' : describeIssues(over.error)).toMatch(
      /groupMembers: must hold at most 32768 login digests/,
    );
  });

  it('is not part of a policy change: the collector resolves it', () => {
    const {
      version: _v,
      siteId: _s,
      issuedAt: _i,
      ...body
    } = makePolicy({
      groupMembers: { '9R': ['ad2278d7fe2b74b4'] },
    });
    const change = PolicyChangeSchema.parse({ policy: body, reason: 'PSHE' });
    expect(change.policy).not.toHaveProperty('groupMembers');
  });
});

describe('findApprovedLesson', () => {
  let inLesson: string;
  let outside: string;
  let policy: Policy;
  const lesson = makeExemption({
    groups: ['9R', 'Year 10'],
    categories: ['self_harm', 'suicide'],
    startsAt: '2026-11-24T10:00:00Z',
    endsAt: '2026-11-24T11:00:00Z',
  });

  beforeAll(async () => {
    inLesson = await loginDigest(TEST_SITE_ID, 'pupil.9r');
    outside = await loginDigest(TEST_SITE_ID, 'pupil.9s');
    policy = makePolicy({
      exemptions: [lesson],
      groupMembers: {
        '9R': [inLesson],
        'Year 10': [],
      },
    });
  });

  const at = (
    observedAt: string,
    categories: Category[] = ['self_harm'],
    digest: string = inLesson,
  ) => findApprovedLesson(policy, { loginDigest: digest, categories, observedAt })?.id;

  it('covers a pupil of its groups from its start up to, not including, its end', () => {
    expect(at('2026-11-24T10:00:00Z')).toBe(lesson.id);
    expect(at('2026-11-24T11:30:00+01:00')).toBe(lesson.id);
    expect(at('2026-11-24T10:59:59.999Z')).toBe(lesson.id);
    expect(at('2026-11-24T09:59:59.999Z')).toBeUndefined();
    expect(at('2026-11-24T11:00:00Z')).toBeUndefined();
  });

  it('covers nobody outside its groups', () => {
    expect(at('2026-11-24T10:30:00Z', ['self_harm'], outside)).toBeUndefined();
  });

  it('covers a capture only when the lesson covers every one of its categories', () => {
    expect(at('2026-11-24T10:30:00Z', ['self_harm', 'suicide'])).toBe(lesson.id);
    expect(at('2026-11-24T10:30:00Z', ['self_harm', 'grooming_cse'])).toBeUndefined();
    expect(at('2026-11-24T10:30:00Z', ['grooming_cse'])).toBeUndefined();
  });

  it('takes the first lesson that covers the capture, and never a group the policy has no members for', () => {
    const second = makeExemption({
      ...lesson,
      id: '5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
    });
    const both = { ...policy, exemptions: [lesson, second] };
    expect(
      findApprovedLesson(both, {
        loginDigest: inLesson,
        categories: ['self_harm'],
        observedAt: '2026-11-24T10:30:00Z',
      })?.id,
    ).toBe(lesson.id);
    const odd = {
      ...policy,
      exemptions: [makeExemption({ ...lesson, groups: ['constructor', 'toString'] })],
    };
    expect(
      findApprovedLesson(odd, {
        loginDigest: inLesson,
        categories: ['self_harm'],
        observedAt: '2026-11-24T10:30:00Z',
      }),
    ).toBeUndefined();
  });
});
