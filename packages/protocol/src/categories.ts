import { z } from 'zod';

/**
 * The safeguarding categories every package shares, in the order the UK Safer Internet
 * Centre's "appropriate monitoring" list gives them, then Lantern's additions. Ids are
 * stable: they are stored in every capture and in schools' records.
 */
export const CATEGORY_IDS = [
  'csam_iioc',
  'grooming_cse',
  'self_harm',
  'suicide',
  'bullying',
  'discrimination',
  'extremism',
  'drugs',
  'weapons_violence',
  'pornography',
  'gambling',
  'eating_disorder',
  'filter_bypass',
  'domestic_abuse',
  'criminal_exploitation',
] as const;

export const CategorySchema = z.enum(CATEGORY_IDS);
/** A safeguarding category id, e.g. `'self_harm'`. */
export type Category = z.infer<typeof CategorySchema>;

/**
 * Severity 1–5, the scale a DSL triages by:
 * 1 inappropriate or low concern · 2 monitor · 3 concern, review today ·
 * 4 serious, review within the hour · 5 a child may be in danger now.
 */
export const SeveritySchema = z.int().min(1).max(5);
export type Severity = z.infer<typeof SeveritySchema>;

/** What staff read about a category: its name, what it covers, and its default severity. */
export interface CategoryInfo {
  readonly id: Category;
  readonly name: string;
  readonly description: string;
  readonly defaultSeverity: Severity;
}

/** Every category with its staff-facing name, description and default severity. */
export const CATEGORIES = {
  csam_iioc: {
    id: 'csam_iioc',
    name: 'Indecent images of children',
    description:
      'Disclosures about, requests for, or sharing of indecent images of children, including sextortion. ' +
      'Lantern never takes a screenshot for this category. Only the DSL handles it: do not view, copy, ' +
      'print or forward images; follow the UKCIS "Sharing nudes and semi-nudes" advice and involve the police where required.',
    defaultSeverity: 5,
  },
  grooming_cse: {
    id: 'grooming_cse',
    name: 'Grooming and child sexual exploitation',
    description:
      'Signs that an adult or older young person is building trust to exploit a child: secrecy ("don\'t tell your mum"), ' +
      'gifts, requests to move to a private app or to meet, and disclosures of sexual exploitation.',
    defaultSeverity: 5,
  },
  self_harm: {
    id: 'self_harm',
    name: 'Self-harm',
    description:
      'Disclosures of, intent towards, or searches for ways of self-harming, including coded words pupils use.',
    defaultSeverity: 4,
  },
  suicide: {
    id: 'suicide',
    name: 'Suicide',
    description:
      'Suicidal thoughts, intent, plans or methods, and disclosures such as "nobody would miss me". ' +
      'First-person intent with a time or a method is treated as a child in danger now.',
    defaultSeverity: 5,
  },
  bullying: {
    id: 'bullying',
    name: 'Bullying',
    description:
      'Bullying and cyberbullying: threats, exclusion, humiliation and harassment, as sent or as disclosed.',
    defaultSeverity: 3,
  },
  discrimination: {
    id: 'discrimination',
    name: 'Discrimination',
    description:
      'Abuse or hatred directed at protected characteristics (race, religion, disability, sex, sexual orientation, gender reassignment and others).',
    defaultSeverity: 3,
  },
  extremism: {
    id: 'extremism',
    name: 'Extremism and radicalisation',
    description:
      'Interest in, support for or recruitment into extremist ideologies and terrorist content (Prevent duty).',
    defaultSeverity: 4,
  },
  drugs: {
    id: 'drugs',
    name: 'Drugs and substance misuse',
    description: 'Buying, selling or using drugs, alcohol misuse, and related harm.',
    defaultSeverity: 3,
  },
  weapons_violence: {
    id: 'weapons_violence',
    name: 'Weapons and violence',
    description:
      'Carrying or getting weapons, threats of violence, and plans to hurt others, including in or around school.',
    defaultSeverity: 4,
  },
  pornography: {
    id: 'pornography',
    name: 'Pornography',
    description:
      'Seeking or sharing adult sexual content. Screenshots are marked sensitive and hidden by default.',
    defaultSeverity: 3,
  },
  gambling: {
    id: 'gambling',
    name: 'Gambling',
    description: 'Gambling sites, betting and loot-box gambling, and gambling-related harm.',
    defaultSeverity: 2,
  },
  eating_disorder: {
    id: 'eating_disorder',
    name: 'Eating disorders',
    description:
      'Disclosures of disordered eating and pro-eating-disorder content ("pro-ana", "thinspo"), purging and extreme restriction.',
    defaultSeverity: 4,
  },
  filter_bypass: {
    id: 'filter_bypass',
    name: 'Filter bypass',
    description:
      'Attempts to get round the school\'s filtering and monitoring: VPNs, proxies, Tor and "unblocked" sites.',
    defaultSeverity: 2,
  },
  domestic_abuse: {
    id: 'domestic_abuse',
    name: 'Domestic abuse',
    description:
      'Disclosures of violence, control or abuse at home, between adults the child lives with or towards the child.',
    defaultSeverity: 4,
  },
  criminal_exploitation: {
    id: 'criminal_exploitation',
    name: 'Criminal exploitation',
    description:
      'Child criminal exploitation such as county lines: being made to carry or sell drugs or money, debt bondage, "going country".',
    defaultSeverity: 4,
  },
} as const satisfies { [K in Category]: CategoryInfo & { id: K } };
