import { z } from 'zod';

import { CATEGORY_IDS, CategorySchema, SeveritySchema, type Category } from './categories.ts';
import { DateTimeSchema, TermIdSchema, UuidSchema, VersionSchema } from './common.ts';
import { MAX_GROUP_MEMBERS } from './limits.ts';
import { LoginDigestSchema, type LoginDigest } from './login.ts';

/** The age band the lexicon's severities and exclusions are tuned for. */
export const AgeBandSchema = z.enum(['primary', 'secondary', 'staff']);
export type AgeBand = z.infer<typeof AgeBandSchema>;

const PatternSchema = z.string().min(1).max(300);
const NoteSchema = z.string().max(1000);

/**
 * A site's change to the shared lexicon. Data, validated like the lexicon itself; the
 * pattern language is the lexicon's (see `@lantern/lexicon`).
 */
export const SiteOverrideSchema = z.discriminatedUnion('action', [
  z.object({
    action: z.literal('add_term'),
    termId: TermIdSchema.refine(
      (id) => id.startsWith('site.'),
      'a site term id starts with "site."',
    ),
    pattern: PatternSchema,
    category: CategorySchema,
    severity: SeveritySchema,
    language: z.string().regex(/^[a-z]{2,3}$/, 'must be an ISO 639 language code such as "en"'),
    note: NoteSchema,
  }),
  z.object({ action: z.literal('disable_term'), termId: TermIdSchema, note: NoteSchema }),
  z.object({
    action: z.literal('set_severity'),
    termId: TermIdSchema,
    severity: SeveritySchema,
    note: NoteSchema,
  }),
  z.object({
    action: z.literal('add_exclusion'),
    exclusionId: TermIdSchema.refine(
      (id) => id.startsWith('site.'),
      'a site exclusion id starts with "site."',
    ),
    pattern: PatternSchema,
    note: NoteSchema,
  }),
]);
export type SiteOverride = z.infer<typeof SiteOverrideSchema>;

/** A tutor group, class or year group, as the school's MIS names it (`9R`, `Year 9`). */
const GroupNameSchema = z.string().min(1).max(100);

/**
 * A planned lesson on a risky topic, approved in advance by a senior leader. Captures in it
 * are still recorded, marked as in an approved lesson, and do not alert. Who is in its
 * groups travels with the policy (`groupMembers`); see `findApprovedLesson`.
 */
export const ExemptionSchema = z
  .object({
    id: UuidSchema,
    reason: z.string().min(1).max(1000),
    /** Tutor groups, classes or year groups the lesson is for, as the school's MIS names them. */
    groups: z.array(GroupNameSchema).min(1).max(50),
    categories: z.array(CategorySchema).min(1).max(CATEGORY_IDS.length),
    startsAt: DateTimeSchema,
    endsAt: DateTimeSchema,
    approvedBy: z.string().min(1).max(200),
  })
  .refine((exemption) => Date.parse(exemption.endsAt) > Date.parse(exemption.startsAt), {
    message: 'endsAt must be after startsAt',
    path: ['endsAt'],
  })
  // No lesson is a reason to look at indecent images of children: such a capture always alerts.
  .refine((exemption) => !exemption.categories.includes('csam_iioc'), {
    message: 'an approved lesson cannot cover csam_iioc: those captures always alert',
    path: ['categories'],
  });
export type Exemption = z.infer<typeof ExemptionSchema>;

/** Per category: take a screenshot (`on`), don't (`off`), or take one hidden by default (`sensitive`). */
export const ScreenshotRuleSchema = z.enum(['on', 'off', 'sensitive']);
export type ScreenshotRule = z.infer<typeof ScreenshotRuleSchema>;

export const ScreenshotPolicySchema = z.object({
  enabled: z.boolean(),
  /** Width the screenshot is scaled down to, in pixels. */
  maxWidthPx: z.int().min(320).max(3840),
  /** Lossy compression quality, 1–100. */
  quality: z.int().min(1).max(100),
  categories: z
    .record(CategorySchema, ScreenshotRuleSchema)
    .refine((rules) => rules.csam_iioc === 'off', {
      message: 'screenshots for csam_iioc must be "off": making such an image is itself an offence',
      path: ['csam_iioc'],
    }),
});
export type ScreenshotPolicy = z.infer<typeof ScreenshotPolicySchema>;

/** The notice every pupil sees at login: monitoring is in place, why, and who to talk to. */
export const BannerSchema = z.object({
  schoolName: z.string().min(1).max(200),
  title: z.string().min(1).max(200),
  text: z.string().min(1).max(4000),
  contact: z.string().max(500),
});
export type Banner = z.infer<typeof BannerSchema>;

export const SpoolPolicySchema = z.object({
  /** The most disk the spool may use, in bytes; when full, the lowest severity goes first. */
  maxBytes: z
    .int()
    .min(1024 * 1024)
    .max(4 * 1024 * 1024 * 1024),
  /** Captures older than this are dropped (and counted) even if never acknowledged. */
  maxAgeDays: z.int().min(1).max(365),
});
export type SpoolPolicy = z.infer<typeof SpoolPolicySchema>;

/**
 * Everything the collector tells a device about how to monitor. Pushed in a `policy`
 * frame whenever the device's version differs, and cached on the device.
 */
export const PolicySchema = z.object({
  version: VersionSchema,
  siteId: UuidSchema,
  issuedAt: DateTimeSchema,
  lexicon: z.object({
    version: VersionSchema,
    ageBand: AgeBandSchema,
    overrides: z.array(SiteOverrideSchema).max(5000),
  }),
  /** Approved lessons that have not ended when this version was made (ended ones are left out). */
  exemptions: z.array(ExemptionSchema).max(500),
  /**
   * Who the exemptions cover: for each group an exemption names, the login digests
   * (`loginDigest`) of the pupils in it, as the collector resolved them from the school's
   * MIS import when it made this version (a group nobody is in has an empty list). An import
   * that changes who is in such a group makes a new version. Staff are never members: a
   * lesson exempts its pupils, not the adults in the room.
   */
  groupMembers: z
    .record(GroupNameSchema, z.array(LoginDigestSchema))
    .refine(
      (groups) =>
        Object.values(groups).reduce((total, members) => total + members.length, 0) <=
        MAX_GROUP_MEMBERS,
      `must hold at most ${MAX_GROUP_MEMBERS} login digests in all`,
    )
    // A policy cached by an agent before approved lessons had members still reads.
    .default({}),
  screenshots: ScreenshotPolicySchema,
  banner: BannerSchema,
  spool: SpoolPolicySchema,
  heartbeatIntervalMs: z.int().min(5_000).max(600_000),
});
export type Policy = z.infer<typeof PolicySchema>;

/**
 * The approved lesson a capture falls in, if any: an exemption of the policy
 * - whose groups hold the capture's user (`loginDigest` in `groupMembers` of one of them),
 * - whose time holds the capture's (`startsAt` ≤ `observedAt` < `endsAt`), and
 * - whose categories include **every** category of the capture: a capture that also matched
 *   something the lesson is not about (grooming during a lesson on self-harm) must still
 *   alert, and a capture carries one flag for all its matches.
 *
 * When several do, the first in the policy's order. The agent applies it when it builds a
 * capture; the collector applies it again at ingest, so a capture cannot claim a lesson
 * that does not cover it.
 */
export function findApprovedLesson(
  policy: Pick<Policy, 'exemptions' | 'groupMembers'>,
  capture: {
    readonly loginDigest: LoginDigest;
    readonly categories: readonly Category[];
    readonly observedAt: string;
  },
): Exemption | undefined {
  const at = Date.parse(capture.observedAt);
  return policy.exemptions.find(
    (exemption) =>
      Date.parse(exemption.startsAt) <= at &&
      at < Date.parse(exemption.endsAt) &&
      capture.categories.every((category) => exemption.categories.includes(category)) &&
      exemption.groups.some(
        // Own keys only: a group named `constructor` must not find Object.prototype's.
        (group) =>
          Object.hasOwn(policy.groupMembers, group) &&
          (policy.groupMembers[group]?.includes(capture.loginDigest) ?? false),
      ),
  );
}
