import { inArray, sql, type SQL } from 'drizzle-orm';

import { normaliseLoginName, type Capture } from '@lantern/protocol';

import type { Db } from '../../db/database.ts';
import { screenshots } from '../captures/capture.table.ts';

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

/** The screenshots among these hashes that are stored. */
export async function storedScreenshots(
  db: Db | Tx,
  hashes: readonly string[],
): Promise<Set<string>> {
  if (hashes.length === 0) return new Set();
  const rows = await db
    .select({ sha256: screenshots.sha256 })
    .from(screenshots)
    .where(inArray(screenshots.sha256, [...hashes]));
  return new Set(rows.map((row) => row.sha256));
}

/**
 * One statement stores a batch: the captures arrive as one JSON array, their matches as
 * another (two parameters, however large the batch). Each capture is inserted by the id its device made, and one already
 * there is left as it is (ON CONFLICT DO NOTHING), so an agent that resends after a lost ack
 * never makes a second copy; matches are inserted only for the captures this statement
 * stored. Login names are matched to subjects in the same statement. A single statement is
 * atomic without BEGIN/COMMIT, so a batch costs one round trip and one commit.
 *
 * Written in SQL rather than drizzle's builder: building a 500-row INSERT with drizzle cost
 * the collector about half of its CPU per capture under load (test/bench/collector-ingest.ts).
 */
function insertCapturesStatement(capturesJson: string, matchesJson: string): SQL {
  return sql`
WITH input AS (
  SELECT * FROM json_to_recordset(${capturesJson}::text::json) AS x(
    id uuid, site_id uuid, device_id uuid, login_key text, observed_at timestamptz,
    source capture_source, app_name text, app_id text, window_title text, login_name text,
    context text, severity smallint, categories text[], lexicon_version text,
    policy_version text, in_approved_lesson boolean, exemption_id uuid,
    screenshot_sha256 text, screenshot_sensitive boolean,
    screenshot_omitted screenshot_omitted)
), stored AS (
  INSERT INTO captures (
    id, site_id, device_id, subject_id, subject_kind, observed_at, source, app_name, app_id,
    window_title, login_name, context, severity, categories, lexicon_version, policy_version,
    in_approved_lesson, exemption_id, screenshot_sha256, screenshot_sensitive,
    screenshot_omitted)
  SELECT i.id, i.site_id, i.device_id, s.id, coalesce(s.kind, 'pupil'), i.observed_at,
    i.source, i.app_name, i.app_id, i.window_title, i.login_name, i.context, i.severity,
    i.categories, i.lexicon_version, i.policy_version, i.in_approved_lesson, i.exemption_id,
    i.screenshot_sha256, i.screenshot_sensitive, i.screenshot_omitted
  FROM input i
  LEFT JOIN subject_logins l ON l.site_id = i.site_id AND l.login_name = i.login_key
  LEFT JOIN subjects s ON s.id = l.subject_id
  ON CONFLICT (id) DO NOTHING
  RETURNING id
)
INSERT INTO capture_matches (
  capture_id, ordinal, term_id, category, severity, span_start, span_end, stage)
SELECT m.capture_id, m.ordinal, m.term_id, m.category, m.severity, m.span_start, m.span_end,
  m.stage
FROM json_to_recordset(${matchesJson}::text::json) AS m(
  capture_id uuid, ordinal smallint, term_id text, category text, severity smallint,
  span_start integer, span_end integer, stage text)
JOIN stored ON stored.id = m.capture_id`;
}

/** NUL, or half of a surrogate pair without its other half. */
// eslint-disable-next-line no-control-regex -- NUL is what this looks for.
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Text as PostgreSQL can hold it: NUL and a lone half of a surrogate pair (a window title can
 * carry either) become U+FFFD instead of failing the batch they arrive in.
 */
export function storableText(text: string): string {
  return text.replace(UNSTORABLE, '\uFFFD');
}

/** Store captures that may have been stored before, in one statement (see insertCapturesStatement). */
export async function insertCaptures(db: Db | Tx, batch: readonly Capture[]): Promise<void> {
  if (batch.length === 0) return;
  const rows = batch.map((capture) => {
    const screenshot = capture.screenshot;
    return {
      id: capture.id,
      site_id: capture.siteId,
      device_id: capture.deviceId,
      login_key: normaliseLoginName(storableText(capture.loginName)),
      observed_at: capture.observedAt,
      source: capture.source,
      app_name: storableText(capture.app.name),
      app_id: capture.app.id === null ? null : storableText(capture.app.id),
      window_title: storableText(capture.windowTitle),
      login_name: storableText(capture.loginName),
      context: storableText(capture.context),
      severity: capture.severity,
      categories: capture.categories,
      lexicon_version: capture.lexiconVersion,
      policy_version: capture.flags.policyVersion,
      in_approved_lesson: capture.flags.inApprovedLesson,
      exemption_id: capture.flags.exemptionId,
      screenshot_sha256: screenshot.status === 'attached' ? screenshot.sha256 : null,
      screenshot_sensitive: screenshot.status === 'attached' ? screenshot.sensitive : false,
      screenshot_omitted: screenshot.status === 'omitted' ? screenshot.reason : null,
    };
  });
  const matches = batch.flatMap((capture) =>
    capture.matches.map((match, ordinal) => ({
      capture_id: capture.id,
      ordinal,
      term_id: match.termId,
      category: match.category,
      severity: match.severity,
      span_start: match.span.start,
      span_end: match.span.end,
      stage: match.stage,
    })),
  );
  await db.execute(insertCapturesStatement(JSON.stringify(rows), JSON.stringify(matches)));
}
