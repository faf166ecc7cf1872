/**
 * The spool: captures on disk, encrypted, until the collector acknowledges them. See
 * `spool.ts` for the API and `spool-format.ts` for the on-disk format; guarantees and
 * per-OS key protection are in the package README ("Spool").
 */
export {
  Spool,
  type AppendOutcome,
  type SpoolEntry,
  type SpoolLimits,
  type SpoolOptions,
  type SpoolStats,
} from './spool.ts';
export { SpoolError, type SpoolErrorCode } from './spool-errors.ts';
export { SPOOL_FORMAT_VERSION } from './spool-format.ts';
export type { SyncTarget } from './spool-io.ts';
export { loadOrCreateSpoolKey } from './spool-key.ts';
