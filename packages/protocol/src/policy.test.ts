import { describe, expect, it } from 'vitest';

import { describeIssues } from './frames.ts';
import { ExemptionSchema, PolicySchema, SiteOverrideSchema } from './policy.ts';
import { makePolicy } from './testing.ts';

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
});
