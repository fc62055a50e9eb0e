// A card vault with a key of its own, for tests below the service (store, state machine).
import { randomBytes } from 'node:crypto'
import { CardVault } from '../../src/cards/card-vault.js'

export function testVault (): CardVault {
  return new CardVault(randomBytes(32))
}
