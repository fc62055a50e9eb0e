import t from 'tap'
import { GroupCommitter } from '../../src/ledger/group-commit.js'
import { openLedgerDb } from '../../src/ledger/schema.js'

function setUp (options: { batchSizeMax?: number, queueDepthMax?: number } = {}) {
  const db = openLedgerDb(':memory:')
  db.exec('CREATE TABLE items (v INTEGER NOT NULL CHECK (v >= 0))')
  const insert = db.prepare('INSERT INTO items (v) VALUES (?)')
  const batches: number[] = []
  const committer = new GroupCommitter<number, number>({
    db,
    processOne: v => { insert.run(v); if (v === 13) throw new Error('unlucky'); return v * 2 },
    batchSizeMax: options.batchSizeMax ?? 8,
    queueDepthMax: options.queueDepthMax ?? 32,
    onBatch: ({ size }) => batches.push(size)
  })
  return { db, committer, batches, count: () => db.prepare('SELECT COUNT(*) FROM items').pluck().get() as number }
}

t.test('jobs submitted together commit in batches of at most batchSizeMax, in order', async t => {
  const { committer, batches, db } = setUp({ batchSizeMax: 8 })
  const results = await Promise.all(Array.from({ length: 20 }, (_v, i) => committer.submit(i + 100)))
  t.same(results, Array.from({ length: 20 }, (_v, i) => (i + 100) * 2))
  t.same(batches, [8, 8, 4])
  t.same(db.prepare('SELECT v FROM items').pluck().all(), Array.from({ length: 20 }, (_v, i) => i + 100), 'arrival order')
})

t.test('a job that throws rolls back alone; its neighbours commit', async t => {
  const { committer, count } = setUp()
  const settled = await Promise.allSettled([1, 13, 2].map(v => committer.submit(v)))
  t.same(settled.map(s => s.status), ['fulfilled', 'rejected', 'fulfilled'])
  t.equal(count(), 2, 'the failing job left no row')
})

t.test('a full queue rejects at once with QueueFullError', async t => {
  const { committer } = setUp({ batchSizeMax: 4, queueDepthMax: 4 })
  const accepted = [1, 2, 3, 4].map(v => committer.submit(v))
  await t.rejects(committer.submit(5), { code: 'QUEUE_FULL' })
  await Promise.all(accepted)
  t.equal(await committer.submit(6), 12, 'accepts again once drained')
})

t.test('a failed COMMIT rejects the whole batch and commits nothing', async t => {
  const { committer, db, count } = setUp()
  db.exec('CREATE TRIGGER no_sevens BEFORE INSERT ON items WHEN NEW.v = 7 BEGIN SELECT RAISE(ABORT, \'no sevens\'); END')
  const settled = await Promise.allSettled([5, 7, 9].map(v => committer.submit(v)))
  t.same(settled.map(s => s.status), ['fulfilled', 'rejected', 'fulfilled'], 'a statement error is per job')
  t.equal(count(), 2)
})

t.test('close() drains what is queued, then refuses new jobs', async t => {
  const { committer, count } = setUp()
  const pending = [1, 2, 3].map(v => committer.submit(v))
  await committer.close()
  t.same(await Promise.all(pending), [2, 4, 6])
  t.equal(count(), 3)
  await t.rejects(committer.submit(4), { code: 'QUEUE_FULL' })
})
