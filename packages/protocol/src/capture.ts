import { z } from 'zod';

import { CategorySchema, SeveritySchema } from './categories.ts';
import {
  DateTimeSchema,
  Sha256Schema,
  TermIdSchema,
  UuidSchema,
  UuidV7Schema,
  VersionSchema,
} from './common.ts';
import {
  CONTEXT_MAX_CHARS,
  MAX_MATCHES_PER_CAPTURE,
  MAX_SCREENSHOT_BYTES,
  MAX_SCREENSHOT_EDGE_PX,
  WINDOW_TITLE_MAX_CHARS,
} from './limits.ts';

/** Where the text of a capture came from. */
export const SourceSchema = z.enum(['window_title', 'typed', 'clipboard']);
export type Source = z.infer<typeof SourceSchema>;

/** Which stage of the detector produced a match: the explainable lexicon, or the classifier. */
export const DetectorStageSchema = z.enum(['lexicon', 'classifier']);
export type DetectorStage = z.infer<typeof DetectorStageSchema>;

/** A span of the capture's context, as UTF-16 offsets (`context.slice(start, end)`). */
export const SpanSchema = z
  .strictObject({
    start: z.int().min(0).max(CONTEXT_MAX_CHARS),
    end: z.int().min(1).max(CONTEXT_MAX_CHARS),
  })
  .refine((span) => span.end > span.start, {
    message: 'end must be greater than start',
    path: ['end'],
  });
export type Span = z.infer<typeof SpanSchema>;

/** One lexicon (or classifier) hit, explaining itself: which term, what it means, where. */
export const MatchSchema = z.strictObject({
  termId: TermIdSchema,
  category: CategorySchema,
  severity: SeveritySchema,
  span: SpanSchema,
  stage: DetectorStageSchema,
});
export type Match = z.infer<typeof MatchSchema>;

export const ScreenshotMediaTypeSchema = z.enum(['image/webp', 'image/jpeg', 'image/png']);
export type ScreenshotMediaType = z.infer<typeof ScreenshotMediaTypeSchema>;

/** A screenshot sent in its own `screenshot` frame and referenced from the capture by hash. */
export const ScreenshotRefSchema = z.strictObject({
  status: z.literal('attached'),
  sha256: Sha256Schema,
  mediaType: ScreenshotMediaTypeSchema,
  bytes: z.int().min(1).max(MAX_SCREENSHOT_BYTES),
  width: z.int().min(1).max(MAX_SCREENSHOT_EDGE_PX),
  height: z.int().min(1).max(MAX_SCREENSHOT_EDGE_PX),
  /** Hidden on the dashboard until a DSL reveals it with a written justification (e.g. pornography). */
  sensitive: z.boolean(),
});
export type ScreenshotRef = z.infer<typeof ScreenshotRefSchema>;

/**
 * Why a capture has no screenshot, so a DSL never wonders:
 * `policy_off` the site or category turns screenshots off · `never_for_category` never taken
 * for `csam_iioc` · `failed` the device could not take one · `not_applicable` no screen (e.g. locked).
 */
export const ScreenshotOmittedSchema = z.strictObject({
  status: z.literal('omitted'),
  reason: z.enum(['policy_off', 'never_for_category', 'failed', 'not_applicable']),
});

export const CaptureScreenshotSchema = z.discriminatedUnion('status', [
  ScreenshotRefSchema,
  ScreenshotOmittedSchema,
]);
export type CaptureScreenshot = z.infer<typeof CaptureScreenshotSchema>;

/** The application that owned the window: its display name and a stable id (exe name or bundle id). */
export const AppSchema = z.strictObject({
  name: z.string().max(256),
  id: z.string().max(256).nullable(),
});

export const CaptureFlagsSchema = z
  .strictObject({
    /** The capture fell inside a lesson a senior leader approved in advance: recorded, never alerted. */
    inApprovedLesson: z.boolean(),
    exemptionId: UuidSchema.nullable(),
    /** The policy the device applied when it made the capture. */
    policyVersion: VersionSchema,
  })
  .refine((flags) => flags.inApprovedLesson === (flags.exemptionId !== null), {
    message: 'exemptionId is set exactly when inApprovedLesson is true',
    path: ['exemptionId'],
  });

/**
 * One capture: what a device saw that matched the lexicon, with just enough context for a
 * DSL to judge. Made on the device; its id makes ingest idempotent end to end.
 */
export const CaptureSchema = z
  .strictObject({
    id: UuidV7Schema,
    siteId: UuidSchema,
    deviceId: UuidSchema,
    observedAt: DateTimeSchema,
    source: SourceSchema,
    app: AppSchema,
    windowTitle: z.string().max(WINDOW_TITLE_MAX_CHARS),
    /** The account logged in on the device, as the OS names it (matched to a pupil or staff member by the collector). */
    loginName: z.string().min(1).max(256),
    /** The sentence around the match, capped at CONTEXT_MAX_CHARS; match spans index into it. */
    context: z.string().min(1).max(CONTEXT_MAX_CHARS),
    matches: z.array(MatchSchema).min(1).max(MAX_MATCHES_PER_CAPTURE),
    /** The capture's severity after scoring (context, source, age band), 1–5. */
    severity: SeveritySchema,
    /** The distinct categories of the matches. */
    categories: z.array(CategorySchema).min(1),
    lexiconVersion: VersionSchema,
    screenshot: CaptureScreenshotSchema,
    flags: CaptureFlagsSchema,
  })
  .superRefine((capture, ctx) => {
    capture.matches.forEach((match, index) => {
      if (match.span.end > capture.context.length) {
        ctx.addIssue({
          code: 'custom',
          message: `span ends at ${match.span.end} but the context is ${capture.context.length} characters long`,
          path: ['matches', index, 'span', 'end'],
        });
      }
    });
    const fromMatches = new Set(capture.matches.map((match) => match.category));
    const declared = new Set(capture.categories);
    if (declared.size !== capture.categories.length) {
      ctx.addIssue({ code: 'custom', message: 'categories must not repeat', path: ['categories'] });
    }
    const same =
      fromMatches.size === declared.size && [...fromMatches].every((id) => declared.has(id));
    if (!same) {
      ctx.addIssue({
        code: 'custom',
        message: `categories must be exactly the matches' categories (${[...fromMatches].join(', ')})`,
        path: ['categories'],
      });
    }
    if (declared.has('csam_iioc') && capture.screenshot.status === 'attached') {
      // Making an image that may be an indecent image of a child is itself an offence.
      ctx.addIssue({
        code: 'custom',
        message: 'a csam_iioc capture must never carry a screenshot',
        path: ['screenshot'],
      });
    }
  });
export type Capture = z.infer<typeof CaptureSchema>;
