// The holder facts a card carries, in ONE place. A card has `birthDate` and `categories: string[]`
// only (the card table is the ledger's), so every other holder fact a rule needs is a category
// string from this vocabulary. docs/rules-venues.md lists it for card issuers and admins.
//
// Plain categories name a status the issuer (HR bureau) records on the card; parameterised ones
// (`resident:<city>`, `filed:<city>`) name a city code of cities.json.
import type { CardFacts, CityCode, Message } from './types.js'

export const HOLDER_CATEGORIES = {
  student: { zh: '在校学生', en: 'Full-time student (primary, secondary or higher education)' },
  disabled: { zh: '持残疾人证', en: 'Holds a disability certificate (残疾人证)' },
  blind: { zh: '盲人（视力残疾）', en: 'Blind (visual disability)' },
  veteran: { zh: '退役军人（持优待证）', en: 'Veteran with the preferential-treatment card (退役军人优待证)' },
  'disabled-veteran': { zh: '伤残军人', en: 'Disabled veteran (伤残军人证)' },
  soldier: { zh: '现役军人', en: 'Serving soldier (现役军人)' },
  'police-injured': { zh: '因公致残人民警察', en: 'Police officer disabled on duty (因公致残人民警察)' },
  retiree: { zh: '离退休人员（领取养老金）', en: 'Retired: draws a pension (离退休、领取养老金)' },
  'insured:employee': { zh: '职工基本医疗保险参保人', en: 'Insured under employee basic medical insurance (has a personal account)' },
  'insured:resident': { zh: '城乡居民基本医疗保险参保人', en: 'Insured under urban-rural resident medical insurance (no personal account)' },
  'resident:<city>': { zh: '本地户籍或居住证（<city>）', en: 'Local household registration or residence permit in <city>' },
  'filed:<city>': { zh: '已办理异地就医备案（就医地<city>）', en: 'Registered (备案) for medical treatment in <city>' }
} as const satisfies Record<string, Message>

export type MedicalScheme = 'employee' | 'resident'

export function hasCategory (card: Pick<CardFacts, 'categories'>, category: string): boolean {
  return card.categories.includes(category)
}

/** Local residence is a holder fact, not the issuer: a Zhengzhou card may belong to a Jinan resident. */
export function residentOf (card: Pick<CardFacts, 'categories'>, city: string): boolean {
  return hasCategory(card, `resident:${city}`)
}

/** Employee insurance wins when a card (wrongly) carries both: it is the scheme with an account. */
export function medicalSchemeOf (card: Pick<CardFacts, 'categories'>): MedicalScheme | null {
  if (hasCategory(card, 'insured:employee')) return 'employee'
  if (hasCategory(card, 'insured:resident')) return 'resident'
  return null
}

/** 异地就医备案: the holder registered treatment in `treatmentCity` with the insured city. */
export function filedForTreatmentIn (card: Pick<CardFacts, 'categories'>, treatmentCity: CityCode): boolean {
  return hasCategory(card, `filed:${treatmentCity}`)
}

/** Whether `category` belongs to the vocabulary (a parameterised one needs a known city code). */
export function isKnownCategory (category: string, cityCodes: readonly string[]): boolean {
  if (Object.hasOwn(HOLDER_CATEGORIES, category) && !category.includes('<')) return true
  const match = /^(resident|filed):([a-z]+)$/.exec(category)
  return match !== null && cityCodes.includes(match[2] as string)
}
