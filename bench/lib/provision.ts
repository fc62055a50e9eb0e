// Writes the bench fleet into a ledger file with the writer's own code (WriterOps.registerTerminal,
// WriterOps.createCard on a LedgerStore), in one transaction: ~30,000 cards in seconds, where the
// admin API would pay one fsync'd transaction per card. The service is then started on the file
// with SEED=none.
import { randomBytes } from 'node:crypto'
import { DenyListKeeper } from '../../src/ledger/deny-list.js'
import { FIXTURES_DIR, loadFixtures } from '../../src/fixtures.js'
import { openLedgerDb } from '../../src/ledger/schema.js'
import { LedgerStore } from '../../src/ledger/store.js'
import { WriterOps } from '../../src/ledger/writer-ops.js'
import { CardVault } from '../../src/cards/card-vault.js'
import { cardDataKey } from '../../src/ops/card-token-key.js'
import { buildCatalogue, type Catalogue } from '../../src/rules/catalogue.js'
import type { CardInput, TerminalRecord } from '../../src/ledger/engine.js'
import type { CityCode } from '../../src/rules/types.js'
import { BENCH_BANK_OPENING_FEN, BENCH_MEDICAL_OPENING_FEN, type Fleet } from './fleet.js'

export const CARD_EXPIRES_ON = '2031-12-31'

/** The card data key a bench ledger is written with: CARD_DATA_KEY, else the key file beside it,
 *  as the service started on the same file will find it. */
export function benchVault (dbPath: string): CardVault {
  return new CardVault(cardDataKey({ envValue: process.env.CARD_DATA_KEY, dbPath }).key)
}

/** The card data key of the bench's PostgreSQL runs: provisioning and every service process share it. */
export const BENCH_PG_CARD_DATA_KEY = 'bench-card-data-key-0123456789abcdef-0123456'

export async function provisionFleet (dbPath: string, fleet: Fleet): Promise<{ ms: number, cards: number, terminals: number }> {
  const started = performance.now()
  const catalogue = buildCatalogue(loadFixtures(FIXTURES_DIR))
  const vault = benchVault(dbPath)
  const db = openLedgerDb(dbPath, { vault })
  const store = new LedgerStore(db, vault)
  // Provisioning lists no card (all active, no debt): the deny list's key does not matter here.
  const ops = new WriterOps(store, catalogue, new DenyListKeeper(randomBytes(32)))
  const nowMs = Date.now()
  try {
    db.transaction(() => {
      for (const t of fleet.terminals) ops.registerTerminal(benchTerminalRecord(t, nowMs))
      for (const c of fleet.cards) ops.createCard(benchCardInput(c, catalogue), nowMs)
      store.flushBalances()
    })()
    store.commit()
  } finally {
    db.close()
  }
  return { ms: performance.now() - started, cards: fleet.cards.length, terminals: fleet.terminals.length }
}

/** A bench terminal as the ledger registers it (both engines' provisioning). */
export function benchTerminalRecord (t: Fleet['terminals'][number], nowMs: number): TerminalRecord {
  return { terminalId: t.terminalId, city: t.city, scenario: t.scenario, operator: t.operator, location: t.location, secret: t.secret, status: 'active', createdAt: new Date(nowMs).toISOString() }
}

/** A bench card with its opening balances (both engines' provisioning). */
export function benchCardInput (c: Fleet['cards'][number], catalogue: Catalogue): CardInput & { issuerCity: CityCode } {
  return {
    cardNo: c.cardNo,
    issuer: c.issuer,
    issuerCity: catalogue.cityByIssuer.get(c.issuer)!,
    holder: { birthDate: c.birthDate, categories: c.categories },
    expiresOn: CARD_EXPIRES_ON,
    accounts: { bank: BENCH_BANK_OPENING_FEN, medical: BENCH_MEDICAL_OPENING_FEN }
  }
}
