import { z } from 'zod';

import {
  AgeBandSchema,
  CATEGORY_IDS,
  CategorySchema,
  SourceSchema,
  type Category,
} from '@lantern/protocol';

import type { Matcher, ScanResult } from '../matcher/matcher.ts';
import { FLAG_MIN_SEVERITY } from '../scoring/score.ts';

/** One labelled item of an evaluation set (JSON Lines, the scan input shape plus labels). */
export const EvalItemSchema = z.object({
  id: z.string().min(1),
  source: SourceSchema,
  text: z.string().min(1),
  label: z.enum(['concern', 'benign']),
  categories: z.array(CategorySchema).default([]),
  ageBand: AgeBandSchema.optional(),
  language: z.string().optional(),
});
export type EvalItem = z.infer<typeof EvalItemSchema>;

export interface CategoryScore {
  readonly category: Category;
  readonly items: number;
  /** Concern items flagged at all. */
  readonly flagged: number;
  /** Concern items flagged with this category among the capture's. */
  readonly flaggedInCategory: number;
}

export interface EvalReport {
  readonly concern: number;
  readonly benign: number;
  readonly benignFlagged: number;
  /**
   * Items flagged only because of the classifier (no lexicon match flags): concern items
   * it caught, benign items it false-alarmed on. Undefined when the matcher has none.
   */
  readonly classifierOnly?: { readonly concern: number; readonly benign: number };
  readonly perCategory: readonly CategoryScore[];
  readonly misses: readonly EvalItem[];
  readonly falseAlarms: readonly { item: EvalItem; terms: string[] }[];
}

/** Scan every item and count recall per category and the share of benign items flagged. */
export function evaluate(matcher: Matcher, items: readonly EvalItem[]): EvalReport {
  const perCategory = new Map<
    Category,
    { items: number; flagged: number; flaggedInCategory: number }
  >(CATEGORY_IDS.map((id) => [id, { items: 0, flagged: 0, flaggedInCategory: 0 }]));
  const misses: EvalItem[] = [];
  const falseAlarms: { item: EvalItem; terms: string[] }[] = [];
  let concern = 0;
  let benign = 0;
  let benignFlagged = 0;
  const classifierOnly = { concern: 0, benign: 0 };
  const byClassifierOnly = (result: ScanResult) =>
    result.flagged &&
    !result.matches.some(
      (match) => match.stage === 'lexicon' && match.severity >= FLAG_MIN_SEVERITY,
    );
  for (const item of items) {
    const result = matcher.scan(item.text, {
      source: item.source,
      ageBand: item.ageBand ?? 'secondary',
    });
    if (item.label === 'benign') {
      benign += 1;
      if (byClassifierOnly(result)) classifierOnly.benign += 1;
      if (result.flagged) {
        benignFlagged += 1;
        falseAlarms.push({
          item,
          terms: [...new Set(result.matches.map((match) => match.termId))],
        });
      }
      continue;
    }
    concern += 1;
    if (byClassifierOnly(result)) classifierOnly.concern += 1;
    if (!result.flagged) misses.push(item);
    for (const category of item.categories) {
      const score = perCategory.get(category);
      if (!score) continue;
      score.items += 1;
      if (result.flagged) score.flagged += 1;
      if (result.flagged && result.categories.includes(category)) score.flaggedInCategory += 1;
    }
  }
  return {
    concern,
    benign,
    benignFlagged,
    ...(matcher.classifier ? { classifierOnly } : {}),
    perCategory: [...perCategory].map(([category, score]) => ({ category, ...score })),
    misses,
    falseAlarms,
  };
}

const percent = (part: number, whole: number) =>
  whole === 0 ? '   –  ' : `${((100 * part) / whole).toFixed(1).padStart(5)}%`;

/** The report as a table a person reads. */
export function formatEvalReport(report: EvalReport, options: { verbose?: boolean } = {}): string {
  const lines = [
    `category                 items  recall  in-category`,
    ...report.perCategory
      .filter((score) => score.items > 0)
      .map(
        (score) =>
          `${score.category.padEnd(24)} ${String(score.items).padStart(5)}  ${percent(score.flagged, score.items)}  ${percent(score.flaggedInCategory, score.items)}`,
      ),
    '',
    `concern items: ${report.concern}, recall ${percent(report.concern - report.misses.length, report.concern).trim()}`,
    `benign items:  ${report.benign}, flagged ${percent(report.benignFlagged, report.benign).trim()} (${report.benignFlagged})`,
  ];
  if (report.classifierOnly) {
    const { concern, benign } = report.classifierOnly;
    lines.push(
      `flagged only by the classifier: ${concern} concern items (${percent(concern, report.concern).trim()}), ${benign} benign (${percent(benign, report.benign).trim()})`,
    );
  } else {
    lines.push('classifier: off (lexicon only)');
  }
  if (options.verbose) {
    lines.push(
      '',
      'missed:',
      ...report.misses.map((item) => `  ${item.id} [${item.categories.join(',')}] ${item.text}`),
    );
    lines.push(
      '',
      'false alarms:',
      ...report.falseAlarms.map(
        ({ item, terms }) => `  ${item.id} (${terms.join(', ')}) ${item.text}`,
      ),
    );
  }
  return `${lines.join('\n')}\n`;
}
