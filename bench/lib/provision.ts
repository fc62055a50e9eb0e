// Writes the bench fleet into a ledger file with the service's own code (Ledger.registerTerminal,
// Ledger.createCard), in one transaction: ~30,000 cards in seconds, where the admin API would pay
// one fsync'd transaction per card. The service is then started on the file with SEED=none.
import { emptyKeyRing } from '../../src/cards/qr-token.js'
import { FIXTURES_DIR, loadFixtures } from '../../src/fixtures.js'
import { Ledger } from '../../src/ledger/ledger.js'
import { openLedgerDb } from '../../src/ledger/schema.js'
import { buildCatalogue } from '../../src/rules/catalogue.js'
import { BENCH_BANK_OPENING_FEN, BENCH_MEDICAL_OPENING_FEN, type Fleet } from './fleet.js'

export const CARD_EXPIRES_ON = '2031-12-31'

export function openBenchLedger (dbPath: string): Ledger {
  const fixtures = loadFixtures(FIXTURES_DIR)
  return new Ledger({
    db: openLedgerDb(dbPath),
    catalogue: buildCatalogue(fixtures),
    qrKeys: emptyKeyRing(),
    serializeTap: answer => JSON.stringify(answer)
  })
}

export async function provisionFleet (dbPath: string, fleet: Fleet): Promise<{ ms: number, cards: number, terminals: number }> {
  const started = performance.now()
  const ledger = openBenchLedger(dbPath)
  try {
    ledger.db.transaction(() => {
      for (const t of fleet.terminals) {
        ledger.registerTerminal({ terminalId: t.terminalId, city: t.city, scenario: t.scenario, operator: t.operator, location: t.location, secret: t.secret })
      }
      for (const c of fleet.cards) {
        ledger.createCard({
          cardNo: c.cardNo,
          issuer: c.issuer,
          holder: { birthDate: c.birthDate, categories: c.categories },
          expiresOn: CARD_EXPIRES_ON,
          accounts: { bank: BENCH_BANK_OPENING_FEN, medical: BENCH_MEDICAL_OPENING_FEN }
        })
      }
    })()
  } finally {
    await ledger.close()
  }
  return { ms: performance.now() - started, cards: fleet.cards.length, terminals: fleet.terminals.length }
}
