// Physical card identity: card number format and issuer area codes (api-v1 "Cities, issuers, cards").

export const CARD_NO_PATTERN = '^[A-Z0-9]{9}$'
export const ISSUER_PATTERN = '^[0-9]{6}$'
const CARD_NO = new RegExp(CARD_NO_PATTERN)

export function isCardNo (value: string): boolean {
  return CARD_NO.test(value)
}
