// Issue #10 "what it must show", small: a generated day in three cities with offline bursts, an
// agent killed mid-upload and restarted, a metro exit uploaded before its entry, the day closed and
// a late upload after it (bench/lib/offline-day.ts; `npm run bench:offline-day` runs a bigger day).
import t from 'tap'
import { runOfflineDay } from '../../bench/lib/offline-day.js'
import { createTestDatabase, testEngine } from '../helpers/engine.js'

t.test('a day with offline bursts: every tap once, debts and deny list agree, the day closes to the fen and stays closed', async t => {
  const databaseUrl = testEngine() === 'postgres' ? await createTestDatabase(t) : undefined
  const r = await runOfflineDay({ cardsPerIssuer: 15, seed: 7, ...(databaseUrl === undefined ? {} : { databaseUrl }) })
  t.equal(r.taps.recordedOnce, r.taps.generated, `all ${r.taps.generated} taps recorded once`)
  t.equal(r.taps.recordedTwiceOrMore, 0)
  t.equal(r.taps.missing, 0)
  t.ok(r.taps.offline > 0 && r.taps.online > 0, `${r.taps.offline} offline, ${r.taps.online} online`)
  t.ok(r.kill.killedAfterBatches >= 1 && r.kill.queuedWhenKilled > 0 && r.kill.restartUploaded === r.kill.queuedWhenKilled,
    `killed with ${r.kill.queuedWhenKilled} still queued; the restart uploaded them`)
  t.ok(r.debt.cardsInDebt > 0, 'some offline rides left debt')
  t.ok(r.denylist.agreesWithCards, 'the served deny list is exactly the lost, frozen and indebted cards')
  t.ok(r.lateEntries.exitsSettled > 0, 'exits uploaded before their entries were settled')
  t.equal(r.settlement.closeStatus, 200)
  t.equal(r.settlement.operatorsNetFen, r.settlement.journalNetFen, 'operators reconcile to the fen with the journal')
  t.equal(r.settlement.positionsFen, r.settlement.operatorsNetFen, 'positions reconcile with operators')
  t.ok(r.settlement.transfersPosted > 0, 'cross-city settlement transfers posted')
  t.ok(r.settlement.lateTapsRecordedNextDay > 0, 'the late upload was recorded the next day')
  t.ok(r.settlement.unchangedAfterLateUpload, 'the closed day is byte for byte what its close answered')
  t.same(r.ledgerCheck.problems, [])
})
