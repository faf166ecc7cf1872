import { z } from 'zod';

import { MatchSchema, SourceSchema } from './capture.ts';
import { CategorySchema } from './categories.ts';
import {
  DateTimeSchema,
  PlatformSchema,
  Sha256Schema,
  UuidSchema,
  VersionSchema,
} from './common.ts';
import { AgentHealthSchema } from './frames.ts';
import { PolicySchema } from './policy.ts';

/** `GET /healthz`: the collector is up and its database answers. A 503 carries an ErrorBody. */
export const HealthResponseSchema = z.object({
  status: z.literal('ok'),
  version: VersionSchema,
  protocolVersion: z.int().positive(),
  database: z.enum(['pglite', 'postgres']),
});
export type HealthResponse = z.infer<typeof HealthResponseSchema>;

// ── The dashboard's API (`/api/…`): staff sign in with a session cookie ─────────────────

/** What a member of staff may do at a site (DESIGN.md, roles); `org_admin` holds no site. */
export const StaffRoleSchema = z.enum([
  'dsl',
  'deputy_dsl',
  'headteacher',
  'technician',
  'governor',
  'org_admin',
]);
export type StaffRole = z.infer<typeof StaffRoleSchema>;

/** Where a capture is in the DSL's triage. `in_concern` is set by grouping, never directly. */
export const CaptureStatusSchema = z.enum([
  'new',
  'in_review',
  'false_positive',
  'no_further_action',
  'escalated',
  'in_concern',
]);
export type CaptureStatus = z.infer<typeof CaptureStatusSchema>;

export const EmailSchema = z
  .email('must be an email address')
  .max(254)
  .transform((email) => email.toLowerCase());

/** Six digits from an authenticator app (RFC 6238, 30 s steps). */
export const TotpCodeSchema = z.string().regex(/^\d{6}$/, 'must be the 6 digits your app shows');

/** The CSRF header every state-changing `/api` request carries (value from the session). */
export const CSRF_HEADER = 'x-lantern-csrf';
/** The session cookie's name. */
export const SESSION_COOKIE = 'lantern_session';

/** `POST /api/auth/login`. `totp` is needed once the user has set up a second factor. */
export const LoginRequestSchema = z.strictObject({
  email: EmailSchema,
  password: z.string().min(1, 'is required').max(1024),
  totp: TotpCodeSchema.optional(),
});
export type LoginRequest = z.infer<typeof LoginRequestSchema>;

export const RoleGrantSchema = z.strictObject({
  role: StaffRoleSchema,
  /** The site the role is held at; null for `org_admin`. */
  siteId: UuidSchema.nullable(),
});
export type RoleGrant = z.infer<typeof RoleGrantSchema>;

/**
 * The signed-in user (`GET /api/auth/session`, and the answer to a login). `mfa` is
 * `setup_required` when the user's roles need a second factor they have not set up: until
 * they do, only the session, password and TOTP set-up routes answer.
 */
export const SessionResponseSchema = z.object({
  user: z.object({ id: UuidSchema, email: z.string(), displayName: z.string() }),
  roles: z.array(RoleGrantSchema.extend({ siteName: z.string().nullable() })),
  mfa: z.enum(['verified', 'not_required', 'setup_required']),
  csrfToken: z.string(),
  expiresAt: DateTimeSchema,
});
export type SessionResponse = z.infer<typeof SessionResponseSchema>;

/** Passwords: at least 12 characters (NCSC: length over complexity rules), at most 256. */
export const NewPasswordSchema = z
  .string()
  .min(12, 'must be at least 12 characters (a few words together make a good one)')
  .max(256, 'must be at most 256 characters');

export const PasswordChangeRequestSchema = z.strictObject({
  currentPassword: z.string().min(1).max(1024),
  newPassword: NewPasswordSchema,
});

/** `POST /api/auth/totp/setup`: a new secret to add to an authenticator app, then confirm. */
export const TotpSetupResponseSchema = z.object({
  secret: z.string(),
  otpauthUri: z.string(),
});
export const TotpConfirmRequestSchema = z.strictObject({ code: TotpCodeSchema });

export const SiteSummarySchema = z.object({
  id: UuidSchema,
  name: z.string(),
  urn: z.string().nullable(),
  timezone: z.string(),
});
export type SiteSummary = z.infer<typeof SiteSummarySchema>;

/** The monitored person a capture is about, as the triage queue shows them. */
export const SubjectRefSchema = z.object({
  id: UuidSchema,
  kind: z.enum(['pupil', 'staff']),
  givenName: z.string(),
  familyName: z.string(),
  yearGroup: z.string().nullable(),
  tutorGroup: z.string().nullable(),
  send: z.boolean(),
  eal: z.boolean(),
});
export type SubjectRef = z.infer<typeof SubjectRefSchema>;

/** A capture in a list: who, where, when and how serious, but no content (no text, no title). */
export const CaptureSummarySchema = z.object({
  id: UuidSchema,
  siteId: UuidSchema,
  deviceId: UuidSchema,
  hostname: z.string(),
  loginName: z.string(),
  subject: SubjectRefSchema.nullable(),
  subjectKind: z.enum(['pupil', 'staff']),
  observedAt: DateTimeSchema,
  receivedAt: DateTimeSchema,
  source: SourceSchema,
  appName: z.string(),
  severity: z.int().min(0).max(5),
  categories: z.array(CategorySchema),
  status: CaptureStatusSchema,
  hasScreenshot: z.boolean(),
  screenshotSensitive: z.boolean(),
  inApprovedLesson: z.boolean(),
  concernId: UuidSchema.nullable(),
});
export type CaptureSummary = z.infer<typeof CaptureSummarySchema>;

// ── Lists: keyset pages, never OFFSET ─────────────────────────────────────────────────

/**
 * The paging half of a list's query string: up to `limit` rows (`defaultLimit` when not
 * given, at most `maxLimit`) after `cursor`, the `nextCursor` of the page before. A cursor
 * is opaque base64url: the sort key of the last row of the page it came from, so page
 * 10,000 costs what page 1 does and rows added meanwhile never shift a page. A cursor the
 * list did not make is answered 400 `REQUEST_INVALID`. `maxCursorChars` (default 4096) is
 * room for the longest sort key of the list: a 253-character hostname, JSON-escaped.
 */
export function pageQueryShape(sizes: {
  defaultLimit: number;
  maxLimit: number;
  maxCursorChars?: number;
}) {
  return {
    limit: z.coerce.number().int().min(1).max(sizes.maxLimit).default(sizes.defaultLimit),
    cursor: z
      .string()
      .max(sizes.maxCursorChars ?? 4096)
      .regex(/^[A-Za-z0-9_-]+$/, 'must be a cursor from an earlier page')
      .optional(),
  };
}

/** A page of a list: its `items`, and `nextCursor` to pass as `cursor` for the next page. */
export function pageResponseSchema<T extends z.ZodType>(item: T) {
  return z.object({
    items: z.array(item),
    /** Pass as `cursor` for the next page; null on the last page. */
    nextCursor: z.string().nullable(),
  });
}

/** A comma-separated list in a query string (`?status=new,in_review`). */
const listOf = <T extends z.ZodType<string, string>>(item: T) =>
  z
    .string()
    .transform((value) => value.split(',').filter((part) => part !== ''))
    .pipe(z.array(item).min(1).max(20));

/** `GET /api/sites/:siteId/captures`: filters, then keyset pages (`cursor` from the last page). */
export const CaptureListQuerySchema = z.strictObject({
  status: listOf(CaptureStatusSchema).optional(),
  category: listOf(CategorySchema).optional(),
  source: listOf(SourceSchema).optional(),
  severityMin: z.coerce.number().int().min(0).max(5).optional(),
  subjectId: UuidSchema.optional(),
  deviceId: UuidSchema.optional(),
  yearGroup: z.string().min(1).max(20).optional(),
  from: DateTimeSchema.optional(),
  to: DateTimeSchema.optional(),
  /** `triage`: most severe first, then newest; `newest`: by time only. */
  order: z.enum(['triage', 'newest']).default('triage'),
  // A capture's sort key is fixed-width (severity, time, id): its cursor stays short.
  ...pageQueryShape({ defaultLimit: 50, maxLimit: 200, maxCursorChars: 200 }),
});
export type CaptureListQuery = z.input<typeof CaptureListQuerySchema>;

export const CaptureListResponseSchema = pageResponseSchema(CaptureSummarySchema);
export type CaptureListResponse = z.infer<typeof CaptureListResponseSchema>;

/** `GET /api/captures/:id`: the content, read under audit. */
export const CaptureDetailSchema = CaptureSummarySchema.extend({
  windowTitle: z.string(),
  appId: z.string().nullable(),
  context: z.string(),
  matches: z.array(MatchSchema),
  lexiconVersion: z.string(),
  policyVersion: z.string(),
  screenshot: z
    .object({
      sha256: Sha256Schema,
      mediaType: z.string(),
      width: z.int(),
      height: z.int(),
      bytes: z.int(),
    })
    .nullable(),
  screenshotOmitted: z.string().nullable(),
});
export type CaptureDetail = z.infer<typeof CaptureDetailSchema>;

/** `POST /api/captures/:id/status`. */
export const CaptureStatusChangeSchema = z.strictObject({
  status: CaptureStatusSchema.exclude(['in_concern']),
  /** Why, for the record; required to reopen a closed capture. */
  reason: z.string().trim().min(1).max(2000).optional(),
});

export const DeviceSummarySchema = z.object({
  id: UuidSchema,
  siteId: UuidSchema,
  hostname: z.string(),
  platform: PlatformSchema,
  osRelease: z.string(),
  agentVersion: z.string(),
  enrolledAt: DateTimeSchema,
  lastSeenAt: DateTimeSchema.nullable(),
  lastLoginName: z.string().nullable(),
  lastSession: z.string().nullable(),
  policyVersion: z.string().nullable(),
  revokedAt: DateTimeSchema.nullable(),
  /** What the agent last reported about itself (sources, spool, drops, last error). */
  health: AgentHealthSchema.nullable(),
  /**
   * What a technician should look at: `quiet` no heartbeat for 10 minutes during school
   * hours (switched off, unplugged, or tampered with); `source_failed` a source stopped
   * working (no key hook, no X access); `dropping` the spool has dropped captures;
   * `backlog` captures waiting more than a day.
   */
  attention: z.array(z.enum(['quiet', 'source_failed', 'dropping', 'backlog'])),
});
export type DeviceSummary = z.infer<typeof DeviceSummarySchema>;

/**
 * `GET /api/sites/:siteId/devices`: a site's devices by hostname (a school can have
 * thousands). With `attention=true`, only those needing a technician; such a page holds
 * fewer than `limit` devices only when it is the last.
 */
export const DeviceListQuerySchema = z.strictObject({
  /** Only devices that need a technician's attention (quiet, failing, dropping, backlog). */
  attention: z.enum(['true', 'false']).optional(),
  ...pageQueryShape({ defaultLimit: 100, maxLimit: 500 }),
});
export type DeviceListQuery = z.input<typeof DeviceListQuerySchema>;

export const DeviceListResponseSchema = pageResponseSchema(DeviceSummarySchema);
export type DeviceListResponse = z.infer<typeof DeviceListResponseSchema>;

export const EnrolmentTokenCreateSchema = z.strictObject({
  label: z.string().trim().max(200).default(''),
  maxUses: z.int().min(1).max(100_000).default(500),
  days: z.int().min(1).max(365).default(7),
});
export const EnrolmentTokenCreatedSchema = z.object({
  id: UuidSchema,
  /** Shown once: only its hash is kept. */
  token: z.string(),
  expiresAt: DateTimeSchema,
});
export const EnrolmentTokenSummarySchema = z.object({
  id: UuidSchema,
  label: z.string(),
  createdAt: DateTimeSchema,
  expiresAt: DateTimeSchema,
  maxUses: z.int(),
  useCount: z.int(),
  revokedAt: DateTimeSchema.nullable(),
});
export type EnrolmentTokenSummary = z.infer<typeof EnrolmentTokenSummarySchema>;

/** `GET /api/sites/:siteId/enrolment-tokens`: a site's tokens, newest first. */
export const EnrolmentTokenListQuerySchema = z.strictObject({
  ...pageQueryShape({ defaultLimit: 50, maxLimit: 200 }),
});
export type EnrolmentTokenListQuery = z.input<typeof EnrolmentTokenListQuerySchema>;

export const EnrolmentTokenListResponseSchema = pageResponseSchema(EnrolmentTokenSummarySchema);
export type EnrolmentTokenListResponse = z.infer<typeof EnrolmentTokenListResponseSchema>;

export const UserCreateSchema = z.strictObject({
  email: EmailSchema,
  displayName: z.string().trim().min(1).max(200),
  password: NewPasswordSchema,
  roles: z.array(RoleGrantSchema).max(100).default([]),
});
export const UserRolesUpdateSchema = z.strictObject({
  roles: z.array(RoleGrantSchema).max(100),
});
export const UserSummarySchema = z.object({
  id: UuidSchema,
  email: z.string(),
  displayName: z.string(),
  roles: z.array(RoleGrantSchema),
  mfaEnabled: z.boolean(),
  lockedUntil: DateTimeSchema.nullable(),
  disabledAt: DateTimeSchema.nullable(),
});
export type UserSummary = z.infer<typeof UserSummarySchema>;

/** `GET /api/users`: the organisation's staff accounts, by email. */
export const UserListQuerySchema = z.strictObject({
  ...pageQueryShape({ defaultLimit: 50, maxLimit: 200 }),
});
export type UserListQuery = z.input<typeof UserListQuerySchema>;

export const UserListResponseSchema = pageResponseSchema(UserSummarySchema);
export type UserListResponse = z.infer<typeof UserListResponseSchema>;

/** `POST /api/sites/:siteId/subjects/import` (a CSV body): what happened, row by row. */
export const SubjectImportResultSchema = z.object({
  rows: z.int(),
  created: z.int(),
  updated: z.int(),
  unchanged: z.int(),
  /** Rows not imported, with the CSV line number and what to fix; other rows still import. */
  errors: z.array(z.object({ line: z.int(), message: z.string() })),
});
export type SubjectImportResult = z.infer<typeof SubjectImportResultSchema>;

/**
 * `PUT /api/sites/:siteId/policy`: the new policy (the collector numbers and dates it,
 * leaves out approved lessons that have ended, and resolves who is in their groups) and why.
 */
export const PolicyChangeSchema = z.strictObject({
  policy: PolicySchema.omit({ version: true, siteId: true, issuedAt: true, groupMembers: true }),
  /** Why, for the log of policy changes the schools' own policies require. */
  reason: z.string().trim().min(1, 'say why the policy changes').max(2000),
});
export type PolicyChange = z.infer<typeof PolicyChangeSchema>;
