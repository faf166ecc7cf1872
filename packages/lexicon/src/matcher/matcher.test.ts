import { describe, expect, it } from 'vitest';

import { applySiteOverrides, loadLexicon } from '../load/load-lexicon.ts';
import { checkExamples } from '../quality/examples.ts';
import {
  FIXTURE_LEXICON_DIR,
  FIXTURE_SITE_DIR,
  fixtureMatcher,
} from '../test-fixtures/fixtures.ts';
import { Matcher, type LexiconMatch } from './matcher.ts';

const { lexicon, matcher } = await fixtureMatcher();
const scan = (
  text: string,
  source: 'typed' | 'window_title' | 'clipboard' = 'typed',
  ageBand: 'primary' | 'secondary' | 'staff' = 'secondary',
) => matcher.scan(text, { source, ageBand });
const terms = (text: string) => scan(text).matches.map((match) => match.termId);
const spans = (text: string) =>
  scan(text).matches.map((match) => text.slice(match.start, match.end));

describe('Matcher: what matches', () => {
  it('runs the fixture lexicon examples clean', () => {
    expect(checkExamples(lexicon, matcher)).toEqual([]);
  });

  it('matches phrases through the normaliser, with spans in the original text', () => {
    const text = 'honestly IM GONNA K1LL MYSELF';
    expect(spans(text)).toEqual(['IM GONNA K1LL MYSELF']);
    expect(terms('im gonna k*ll myself')).toEqual(['suicide.kill-myself']);
    expect(terms('k i l l m y s e l f')).toEqual(['suicide.kill-myself']);
  });

  it('matches whole words only', () => {
    expect(terms('she has great skills and killjoy vibes')).toEqual([]);
  });

  it('allows up to the gap width of other words, and no more', () => {
    expect(terms('i want to just really die')).toEqual(['suicide.want-to-die']);
    expect(terms('i want to go to the shop and die')).toEqual([]);
  });

  it('never matches a phrase across a sentence end', () => {
    expect(terms('im gonna. kill myself')).not.toContain('suicide.kill-myself');
  });

  it('matches a together term when all its parts occur in one sentence, in any order', () => {
    const text = 'pay £50 or he will send my pics to my whole school';
    expect(terms(text)).toEqual(['iioc.pics-threat']);
    expect(spans(text)).toEqual(['pay £50 or he will send my pics']);
    expect(terms('send me the pics from the trip')).toEqual([]);
    expect(terms('he has my pics. he says pay or he will send them')).toEqual([]);
  });

  it('matches emoji as words', () => {
    expect(terms('selling 🍃🍃 dm me')).toEqual(['drugs.sell-emoji']);
  });
});

describe('Matcher: exclusions', () => {
  it('hides a match inside an excluded phrase, but not elsewhere in the sentence', () => {
    expect(terms('just kill the process')).toEqual([]);
    expect(terms("kill the process then i'm gonna kill him")).toEqual(['weapons.kill']);
  });

  it('hides matches in the same sentence for a sentence-scope exclusion, up to its maxSeverity', () => {
    expect(terms('in our pshe lesson we learnt why people say i want to die')).toEqual([]);
    // A sev-5 disclosure is never explained away by a lesson in the same sentence.
    expect(terms('after the pshe lesson im gonna kill myself')).toEqual(['suicide.kill-myself']);
  });
});

describe('Matcher: scoring', () => {
  it('flags a single ambiguous word only with first-person intent', () => {
    expect(scan('kill').flagged).toBe(false);
    const intent = scan("i'm going to kill him");
    expect(intent).toMatchObject({ flagged: true, severity: 2 });
    expect(intent.matches[0]?.reasons).toEqual(['first_person_intent']);
  });

  it('raises for a time word with intent, and lowers for a window title', () => {
    expect(scan('i want to die tonight').matches[0]).toMatchObject({
      termSeverity: 3,
      severity: 5,
    });
    expect(scan('i want to die', 'window_title').matches[0]).toMatchObject({
      severity: 3,
      reasons: ['first_person_intent', 'window_title'],
    });
  });

  it('applies the age band: terms outside it are silent, grooming weighs more for primary', () => {
    expect(scan('kill myself', 'typed', 'primary').matches).toEqual([]);
    expect(scan('she said not to tell my mum', 'typed', 'primary').matches[0]).toMatchObject({
      severity: 5,
      reasons: ['age_band'],
    });
    expect(scan('she said not to tell my mum', 'typed', 'staff').matches).toEqual([]);
  });

  it('keeps the longer, more serious match when one lies inside another', () => {
    expect(terms('i will kill myself')).toEqual(['suicide.kill-myself']);
  });

  it('explains every match', () => {
    const [match] = scan('he said dont tell my parents').matches;
    expect(match).toEqual<LexiconMatch>({
      termId: 'groom.dont-tell',
      category: 'grooming_cse',
      severity: 4,
      termSeverity: 4,
      reasons: [],
      start: 0,
      end: 28,
      stage: 'lexicon',
      language: 'en',
      lexiconVersion: '0.0.1-fixture',
    });
  });

  it('summarises: flagged, highest severity, categories in order of first match', () => {
    expect(scan('u r a loser and i want to die')).toMatchObject({
      flagged: true,
      severity: 4,
      categories: ['bullying', 'suicide'],
    });
    expect(scan('nothing to see here')).toEqual({
      flagged: false,
      severity: 0,
      categories: [],
      matches: [],
    });
  });
});

describe('site overrides', () => {
  it('adds, disables and re-weighs terms from a site folder', async () => {
    const site = new Matcher(
      await loadLexicon({ dir: FIXTURE_LEXICON_DIR, siteDir: FIXTURE_SITE_DIR }),
    );
    expect(site.version).toBe('0.0.1-fixture+site');
    expect(site.scan('the north road crew want me', { source: 'typed' }).matches[0]?.termId).toBe(
      'site.north-road-crew',
    );
    expect(site.scan('u r a loser', { source: 'typed' }).matches).toEqual([]);
    expect(site.scan('selling 🍃', { source: 'typed' }).matches[0]?.severity).toBe(2);
  });

  it("applies a policy's overrides, and refuses ones that name unknown terms", () => {
    const changed = applySiteOverrides(
      lexicon,
      [
        {
          action: 'add_term',
          termId: 'site.bus-stop',
          pattern: 'meet at the old bus stop',
          category: 'grooming_cse',
          severity: 4,
          language: 'en',
          note: '',
        },
        {
          action: 'add_exclusion',
          exclusionId: 'site.drama',
          pattern: 'kill the lights',
          note: 'drama club',
        },
        { action: 'disable_term', termId: 'bully.loser', note: '' },
        { action: 'set_severity', termId: 'weapons.kill', severity: 2, note: '' },
      ],
      'p-7',
    );
    const site = new Matcher(changed);
    expect(site.version).toBe('0.0.1-fixture+p-7');
    expect(site.scan('lets meet at the old bus stop', { source: 'typed' }).matches[0]?.termId).toBe(
      'site.bus-stop',
    );
    expect(site.scan('kill the lights', { source: 'typed' }).flagged).toBe(false);
    expect(site.scan('kill', { source: 'typed' }).flagged).toBe(true);
    expect(() =>
      applySiteOverrides(lexicon, [{ action: 'disable_term', termId: 'nope.none', note: '' }]),
    ).toThrow(/overrides\[0\]: no term has the id "nope.none"/);
  });
});

const BACKSPACE = Symbol('Backspace');

describe('MatchStream: typed a key at a time', () => {
  const type = (keys: readonly (string | typeof BACKSPACE)[]) => {
    const stream = matcher.createStream({ source: 'typed' });
    const reports = [];
    for (const key of keys) {
      if (key === BACKSPACE) stream.backspace();
      else reports.push(...stream.write(key));
    }
    reports.push(...stream.flush());
    return reports;
  };

  it('reports a sentence when it completes, with matches in that sentence', () => {
    const reports = type([...'hi there. im gonna kill myself. ok']);
    expect(reports).toEqual([
      {
        text: 'im gonna kill myself.',
        matches: [expect.objectContaining({ termId: 'suicide.kill-myself', start: 0, end: 20 })],
      },
    ]);
  });

  it('applies backspace and delete as the pupil sees the text', () => {
    const reports = type([
      ...'im gonna kilk',
      BACKSPACE,
      ...'l mysrlf',
      BACKSPACE,
      BACKSPACE,
      BACKSPACE,
      ...'elf',
    ]);
    expect(reports.map((report) => report.text)).toEqual(['im gonna kill myself']);
  });

  it('finds what a batch scan of the same final text finds', () => {
    const texts = [
      'u r a loser and i want to just die tonight',
      'he said not to tell my mum! selling 🍃 now',
      "k i l l m y s e l f. i'm going to kill him",
      'pshe lesson: i want to die',
    ];
    for (const text of texts) {
      const streamed = type([...text]).flatMap((report) =>
        report.matches.map((match) => match.termId),
      );
      const batch = matcher.scan(text, { source: 'typed' }).matches.map((match) => match.termId);
      expect(streamed, text).toEqual(batch);
    }
  });

  it('reports nothing for text that does not match, and keeps no more than the sentence', () => {
    const stream = matcher.createStream({ source: 'typed' });
    expect(stream.write('my password is hunter2. ')).toEqual([]);
    expect(stream.pendingText).toBe('');
    stream.write('half a sentence');
    expect(stream.pendingText).toBe('half a sentence');
  });
});
