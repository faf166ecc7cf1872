/** Every table of the collector, re-exported from its domain (drizzle-kit reads this file). */
export * from '../modules/audit/audit.table.ts';
export * from '../modules/captures/capture.table.ts';
export * from '../modules/concerns/concern.table.ts';
export * from '../modules/devices/device.table.ts';
export * from '../modules/organisations/organisation.table.ts';
export * from '../modules/policies/policy.table.ts';
export * from '../modules/subjects/subject.table.ts';
export * from '../modules/users/user.table.ts';
