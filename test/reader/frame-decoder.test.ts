import t from 'tap'
import { bcc, encodeFrame, ETX, STX } from '../../src/reader/frame.js'
import { FrameDecoder, type FrameError } from '../../src/reader/frame-decoder.js'

function decodeAll (chunks: Buffer[], opts = {}): Promise<{ bodies: Buffer[], errors: FrameError[], d: FrameDecoder }> {
  const d = new FrameDecoder(opts)
  const bodies: Buffer[] = []
  const errors: FrameError[] = []
  d.on('data', (b: Buffer) => bodies.push(b))
  d.on('frame-error', (e: FrameError) => errors.push(e))
  return new Promise(resolve => {
    d.on('end', () => resolve({ bodies, errors, d }))
    for (const c of chunks) d.write(c)
    d.end()
  })
}

function body (n: number, seed: number): Buffer {
  return Buffer.from(Array.from({ length: n }, (_, i) => (seed * 31 + i * 7) & 0xff))
}

/** Deterministic PRNG so a failing run can be replayed. */
function rng (seed: number): () => number {
  let s = seed >>> 0
  return () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 2 ** 32 }
}

t.test('frame layout: STX, big-endian LEN, body, ETX, XOR of everything before BCC', async t => {
  const f = encodeFrame(Buffer.from([0x07, 0x10]))
  t.same([...f], [STX, 0x00, 0x02, 0x07, 0x10, ETX, STX ^ 0x00 ^ 0x02 ^ 0x07 ^ 0x10 ^ ETX])
  t.equal(bcc(f), 0, 'XOR over the whole frame including BCC is 0')
  t.throws(() => encodeFrame(Buffer.from([1])), RangeError, 'a body needs at least SEQ and CMD')
  t.throws(() => encodeFrame(Buffer.alloc(1025)), RangeError, 'bodies are bounded')
})

t.test('survives any chunking, down to one byte at a time', async t => {
  const bodies = [body(2, 1), body(40, 2), body(300, 3), body(2, 4)]
  const stream = Buffer.concat(bodies.map(b => encodeFrame(b)))
  for (const size of [1, 2, 3, 5, 7, 64, stream.length]) {
    const chunks: Buffer[] = []
    for (let i = 0; i < stream.length; i += size) chunks.push(stream.subarray(i, i + size))
    const { bodies: got, errors } = await decodeAll(chunks)
    t.same(got, bodies, `chunks of ${size}`)
    t.equal(errors.length, 0)
  }
})

t.test('skips line noise, stray STX and ETX bytes between frames', async t => {
  const a = body(5, 1)
  const b = body(9, 2)
  const noise = Buffer.from([0xff, ETX, 0x00, STX, 0x00, STX])
  const { bodies, d } = await decodeAll([noise, encodeFrame(a), Buffer.from([0x55, STX, ETX]), encodeFrame(b), Buffer.from([STX])])
  t.same(bodies, [a, b])
  t.ok(d.stats.noiseBytes > 0, 'noise is counted')
})

t.test('a bad checksum drops the frame and resynchronises on the next', async t => {
  const bad = encodeFrame(body(8, 1))
  bad[bad.length - 1] = (bad.at(-1) as number) ^ 0x40
  const good = body(8, 2)
  const { bodies, errors, d } = await decodeAll([bad, encodeFrame(good)])
  t.same(bodies, [good])
  t.equal(d.stats.badBcc, 1)
  t.ok(errors.some(e => e.kind === 'BAD_BCC'))
})

t.test('a frame whose ETX is missing is rejected (length byte corrupted on the line)', async t => {
  const f = encodeFrame(body(6, 1))
  f[2] = 5 // LEN now 5: ETX expected where a body byte is
  const good = body(3, 9)
  const { bodies, d } = await decodeAll([f, encodeFrame(good)])
  t.same(bodies, [good])
  t.ok(d.stats.badEtx + d.stats.badBcc >= 1)
})

t.test('oversized and undersized lengths are refused at once, without buffering', async t => {
  const good = body(4, 1)
  const { bodies, d } = await decodeAll([Buffer.from([STX, 0xff, 0xff]), Buffer.from([STX, 0x00, 0x01]), encodeFrame(good)])
  t.same(bodies, [good])
  t.equal(d.stats.lenOutOfRange, 2)
  const tight = await decodeAll([encodeFrame(body(100, 1)), encodeFrame(good)], { bodyBytesMax: 64 })
  t.same(tight.bodies, [good], 'the configured bound applies')
})

t.test('a false start that would swallow a reply is abandoned after the stall time', async t => {
  const reply = body(6, 3)
  // Noise STX with a plausible LEN of 900: the real reply disappears into its "body".
  const trap = Buffer.from([STX, 0x03, 0x84])
  const d = new FrameDecoder({ stallMsMax: 20 })
  const got: Buffer[] = []
  d.on('data', (b: Buffer) => got.push(b))
  d.write(Buffer.concat([trap, encodeFrame(reply)]))
  await new Promise(resolve => setTimeout(resolve, 5))
  t.same(got, [], 'still waiting for the bogus frame')
  await new Promise(resolve => setTimeout(resolve, 40))
  t.same(got, [reply], 'found after the stall')
  t.equal(d.stats.stalls, 1)
  d.destroy()

  const never = new FrameDecoder({ stallMsMax: 0 })
  const none: Buffer[] = []
  never.on('data', (b: Buffer) => none.push(b))
  never.write(Buffer.concat([trap, encodeFrame(reply)]))
  await new Promise(resolve => setTimeout(resolve, 40))
  t.same(none, [], 'without the stall timer the reply stays stuck')
  never.destroy()
})

t.test('fuzz: frames among random noise, random chunking, random corruption', async t => {
  for (let seed = 1; seed <= 20; seed++) {
    const rand = rng(seed)
    const sent: Buffer[] = []
    const expected: Buffer[] = []
    const parts: Buffer[] = []
    for (let i = 0; i < 30; i++) {
      if (rand() < 0.5) parts.push(Buffer.from(Array.from({ length: Math.floor(rand() * 20) }, () => Math.floor(rand() * 256))))
      const b = body(2 + Math.floor(rand() * 200), i + seed * 100)
      const f = encodeFrame(b)
      sent.push(b)
      if (rand() < 0.15) {
        const at = 3 + Math.floor(rand() * b.length)
        f[at] = f[at]! ^ (1 + Math.floor(rand() * 255))
      } else {
        expected.push(b)
      }
      parts.push(f)
    }
    const all = Buffer.concat(parts)
    const chunks: Buffer[] = []
    for (let i = 0; i < all.length;) {
      const n = 1 + Math.floor(rand() * 50)
      chunks.push(all.subarray(i, i + n))
      i += n
    }
    const { bodies } = await decodeAll(chunks, { stallMsMax: 0 })
    t.same(bodies, expected, `seed ${seed}: every intact frame, in order, nothing else`)
  }
})
