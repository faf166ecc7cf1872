import { z } from 'zod';

import {
  AgeBandSchema,
  CategorySchema,
  SeveritySchema,
  TermIdSchema,
  type Category,
} from '@lantern/protocol';

/** The id prefix each category's terms carry, so an id says what it is at a glance. */
export const CATEGORY_PREFIX = {
  csam_iioc: 'iioc',
  grooming_cse: 'groom',
  self_harm: 'sh',
  suicide: 'suicide',
  bullying: 'bully',
  discrimination: 'discrim',
  extremism: 'extrem',
  drugs: 'drugs',
  weapons_violence: 'weapons',
  pornography: 'porn',
  gambling: 'gamble',
  eating_disorder: 'ed',
  filter_bypass: 'bypass',
  domestic_abuse: 'dv',
  criminal_exploitation: 'cce',
} as const satisfies Record<Category, string>;

// Long alternations are fine: the 5,000-sequence cap per entry is the real bound.
const PatternSourceSchema = z.string().min(1).max(1000);
const ExampleSchema = z.string().min(1).max(2000);

export const TermSchema = z
  .strictObject({
    id: TermIdSchema,
    category: CategorySchema,
    severity: SeveritySchema,
    ageBands: z.array(AgeBandSchema).min(1),
    /** Any of these matching is a match of the term. */
    patterns: z.array(PatternSourceSchema).max(50).default([]),
    /**
     * Each entry is a pattern; all of them matching in one sentence, in any order, is a
     * match of the term (a NEAR rule: "pics" with "or else" with "pay").
     */
    together: z.array(PatternSourceSchema).min(2).max(5).optional(),
    note: z.string().min(1).max(1000),
    examples: z.strictObject({
      match: z.array(ExampleSchema).min(1),
      noMatch: z.array(ExampleSchema).default([]),
    }),
  })
  .superRefine((term, ctx) => {
    if (term.patterns.length === 0 && !term.together) {
      ctx.addIssue({
        code: 'custom',
        message: 'a term needs patterns, or together',
        path: ['patterns'],
      });
    }
    const prefix = `${CATEGORY_PREFIX[term.category]}.`;
    if (!term.id.startsWith(prefix)) {
      ctx.addIssue({
        code: 'custom',
        message: `a ${term.category} term id starts with "${prefix}"`,
        path: ['id'],
      });
    }
  });
export type TermEntry = z.infer<typeof TermSchema>;

export const ExclusionSchema = z.strictObject({
  id: TermIdSchema.refine((id) => id.startsWith('ex.') || id.startsWith('site.'), {
    message: 'an exclusion id starts with "ex." (or "site." for a site\'s own)',
  }),
  patterns: z.array(PatternSourceSchema).min(1).max(50),
  /** overlap: hides matches inside its words; sentence: hides matches in the same sentence. */
  scope: z.enum(['overlap', 'sentence']).default('overlap'),
  /** Never hides a match above this severity, so a real disclosure is never explained away. */
  maxSeverity: SeveritySchema.default(3),
  categories: z.array(CategorySchema).min(1).optional(),
  note: z.string().max(1000).default(''),
  examples: z.strictObject({ suppress: z.array(ExampleSchema).default([]) }).optional(),
});
export type ExclusionEntry = z.infer<typeof ExclusionSchema>;

export const LexiconFileSchema = z.strictObject({
  language: z
    .string()
    .regex(/^([a-z]{2,3})$/, 'must be an ISO 639 code such as "en", or "und" for emoji'),
  terms: z.array(TermSchema).default([]),
  exclusions: z.array(ExclusionSchema).default([]),
});
export type LexiconFile = z.infer<typeof LexiconFileSchema>;
