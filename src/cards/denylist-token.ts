// The deny list's card tokens (api-v1.1 "Offline taps, debt and the deny list"): the list never
// carries a card number; a terminal computes the token of the card it reads and looks it up.
//
//   token = lowercase hex of the first 16 bytes of HMAC-SHA256(tokenKey, issuer ":" cardNo)
//
// issuer is the 6-digit area code and cardNo the 9-character card number, as the reader reads
// them from a physical card (SSSE records) or from an e-card QR's payload; tokenKey is the
// deployment's deny-list key, 32 bytes, sent to authenticated terminals with the list as base64url
// (`tokenKey`). Without the key a token says nothing about the card; with it (a terminal's copy)
// the card-number space is small enough to search, so the key protects the list in transit,
// in logs and in a copied cache, not against a compromised terminal (docs/offline.md).
import { createHmac } from 'node:crypto'

export const DENYLIST_TOKEN_HEX_CHARS = 32
export const DENYLIST_TOKEN_KEY_BYTES = 32

export function denylistToken (tokenKey: Buffer, issuer: string, cardNo: string): string {
  if (tokenKey.length < DENYLIST_TOKEN_KEY_BYTES) throw new Error(`a deny-list token key has at least ${DENYLIST_TOKEN_KEY_BYTES} bytes`)
  return createHmac('sha256', tokenKey).update(`${issuer}:${cardNo}`, 'utf8').digest('hex').slice(0, DENYLIST_TOKEN_HEX_CHARS)
}
