/**
 * @lantern/collector — the server agents stream to and the dashboard's API. Start it with
 * the `lantern-collector` CLI; embed it (tests, tools) with `buildApp` or `startCollector`.
 */
export { buildApp } from './app.ts';
export { EnvSchema, loadConfig, type CollectorConfig } from './config.ts';
export { openDatabase, type Database, type Db } from './db/database.ts';
export { CollectorError, type CollectorErrorCode } from './errors.ts';
export { startCollector, type RunningCollector } from './server.ts';
export type { AppOptions } from './app.ts';
export { COLLECTOR_VERSION } from './version.ts';
export { createEnrolmentToken } from './modules/devices/enrolment.service.ts';
export { createSite } from './modules/organisations/site.repository.ts';
