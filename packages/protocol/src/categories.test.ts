import { describe, expect, it } from 'vitest';

import { CATEGORIES, CATEGORY_IDS, CategorySchema } from './categories.ts';

describe('categories', () => {
  it('are exactly the fifteen ids every package shares, in order', () => {
    expect(CATEGORY_IDS).toEqual([
      'csam_iioc',
      'grooming_cse',
      'self_harm',
      'suicide',
      'bullying',
      'discrimination',
      'extremism',
      'drugs',
      'weapons_violence',
      'pornography',
      'gambling',
      'eating_disorder',
      'filter_bypass',
      'domestic_abuse',
      'criminal_exploitation',
    ]);
  });

  it('each have a name, a description for staff and a default severity 1–5', () => {
    for (const id of CATEGORY_IDS) {
      const info = CATEGORIES[id];
      expect(info.id).toBe(id);
      expect(info.name.length).toBeGreaterThan(3);
      expect(info.description.length).toBeGreaterThan(40);
      expect(info.defaultSeverity).toBeGreaterThanOrEqual(1);
      expect(info.defaultSeverity).toBeLessThanOrEqual(5);
    }
  });

  it('put a child in danger now at the top of the scale', () => {
    expect(CATEGORIES.csam_iioc.defaultSeverity).toBe(5);
    expect(CATEGORIES.grooming_cse.defaultSeverity).toBe(5);
    expect(CATEGORIES.suicide.defaultSeverity).toBe(5);
    expect(CATEGORIES.gambling.defaultSeverity).toBeLessThan(CATEGORIES.self_harm.defaultSeverity);
  });

  it('rejects an id that is not a category', () => {
    expect(CategorySchema.safeParse('self-harm').success).toBe(false);
    expect(CategorySchema.safeParse('self_harm').success).toBe(true);
  });
});
