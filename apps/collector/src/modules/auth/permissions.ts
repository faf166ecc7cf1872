/**
 * Who may do what: the one table of roles and permissions (DESIGN.md, "Roles"). Routes
 * name a permission; the auth plugin checks it here and nowhere else, and
 * `access.test.ts` runs every role against every route from this same table.
 */
import type { StaffRole } from '@lantern/protocol';

export const PERMISSIONS = [
  /** See the sites one holds a role at. */
  'sites.read',
  /** The triage queue: who, when, how serious; no content. */
  'captures.list',
  /** A capture's content (text, window title, matches); every read is audited. */
  'captures.read',
  /** Change a capture's status. */
  'captures.triage',
  /** Devices and their health. */
  'devices.read',
  /** Revoke a device. */
  'devices.manage',
  /** Make and revoke enrolment tokens. */
  'enrolment.manage',
  /** Look monitored pupils and staff up. */
  'subjects.read',
  /** Import the MIS export of pupils and staff. */
  'subjects.import',
  /** Staff accounts and their roles, across the organisation. */
  'users.manage',
  /** A site's monitoring policy (screenshots, login notice, spool). */
  'policy.read',
  /** Change it: logged with a reason, pushed to the site's devices. */
  'policy.manage',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

const DSL: readonly Permission[] = [
  'sites.read',
  'captures.list',
  'captures.read',
  'captures.triage',
  'devices.read',
  'subjects.read',
  'subjects.import',
  'policy.read',
  'policy.manage',
];

export const ROLE_PERMISSIONS: Readonly<Record<StaffRole, readonly Permission[]>> = {
  dsl: DSL,
  deputy_dsl: DSL,
  // Allegations about staff go to the head, never to the staff member's peers.
  headteacher: [
    'sites.read',
    'captures.list',
    'captures.read',
    'captures.triage',
    'subjects.read',
    'policy.read',
    'policy.manage',
  ],
  // Devices, enrolment and health; never capture content.
  technician: [
    'sites.read',
    'devices.read',
    'devices.manage',
    'enrolment.manage',
    'subjects.import',
  ],
  // Anonymised aggregates only (reports come with the dashboard).
  governor: ['sites.read'],
  // Manages the organisation; reads no capture content by virtue of this role.
  org_admin: [
    'sites.read',
    'devices.read',
    'devices.manage',
    'enrolment.manage',
    'subjects.import',
    'users.manage',
    'policy.read',
    'policy.manage',
  ],
};

/** Whose captures a role sees: DSLs the pupils', the headteacher the staff's. */
export const CAPTURE_SUBJECTS: Readonly<Record<StaffRole, readonly ('pupil' | 'staff')[]>> = {
  dsl: ['pupil'],
  deputy_dsl: ['pupil'],
  headteacher: ['staff'],
  technician: [],
  governor: [],
  org_admin: [],
};

/**
 * Roles that read capture content or manage accounts must sign in with a second factor
 * (the issue names DSL and admin roles; the headteacher reads allegations about staff, so
 * the same holds).
 */
export const MFA_ROLES: ReadonlySet<StaffRole> = new Set([
  'dsl',
  'deputy_dsl',
  'headteacher',
  'org_admin',
]);

/** Every permission a set of roles gives. */
export function permissionsOf(roles: Iterable<StaffRole>): Set<Permission> {
  const all = new Set<Permission>();
  for (const role of roles) for (const permission of ROLE_PERMISSIONS[role]) all.add(permission);
  return all;
}
