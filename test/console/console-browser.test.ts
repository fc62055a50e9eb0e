// The ops console in headless Chromium (Debian's chromium driven by playwright-core): sign in with
// the token in a password field, make taps, see them appear live, no script errors, no card number
// anywhere on the page, the token never in the URL. Screenshots: UPDATE_SCREENSHOTS=1 writes them
// to docs/screenshots/ (committed, shown in the README), otherwise to a temporary folder.
// No Chromium: skipped with a message, or failed when CI is set (.ci/run installs it).
import t from 'tap'
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { loadFixtures } from '../../src/fixtures.js'
import { ADMIN_TOKEN, buildTestApp, localAt, physical, tapId } from '../helpers/app.js'

const CHROMIUM = '/usr/bin/chromium'
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
const STEP_MS = 15_000
const OPS = 'ops-token-browser-0123'

if (!existsSync(CHROMIUM)) {
  if (process.env.CI !== undefined) t.fail(`${CHROMIUM} is missing: .ci/run must install Debian's chromium`)
  else t.test('console in headless Chromium', { skip: `${CHROMIUM} is missing (apt-get install chromium)` }, async () => {})
} else {
  t.test('console in headless Chromium', { timeout: 90_000 }, async t => {
    const h = await buildTestApp(t, { opsToken: OPS })
    const base = await h.app.listen({ port: 0, host: '127.0.0.1' })
    const profile = mkdtempSync(join(tmpdir(), 'yikatong-chromium-'))
    const shots = process.env.UPDATE_SCREENSHOTS === '1' ? join(ROOT, 'docs', 'screenshots') : mkdtempSync(join(tmpdir(), 'yikatong-shots-'))
    mkdirSync(shots, { recursive: true })
    const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1400, height: 1000 }, timeout: STEP_MS })
    t.teardown(async () => {
      await context.close()
      rmSync(profile, { recursive: true, force: true })
    })
    const page = context.pages()[0] ?? await context.newPage()
    page.setDefaultTimeout(STEP_MS)
    const problems: string[] = []
    const outside: string[] = []
    page.on('pageerror', e => problems.push(`page error: ${e.message}`))
    // One answer is an expected error: the wrong token's 401. Chromium reports it as a console
    // error; anything else is a problem.
    const expected = (url: string): boolean => /\/console\/api\/session$/.test(url)
    page.on('console', m => { if (m.type() === 'error' && !expected(m.location().url)) problems.push(`console error: ${m.text()} at ${m.location().url} (${page.url()})`) })
    page.on('request', r => { if (!r.url().startsWith(base)) outside.push(r.url()) })

    await page.goto(`${base}/console`)
    t.equal(await page.getAttribute('#token', 'type'), 'password', 'the token goes in a password field')
    await page.fill('#token', 'not-the-token')
    await page.click('button[type=submit]')
    await page.waitForFunction(() => document.getElementById('login-error')!.textContent !== '')
    t.match(await page.textContent('#login-error'), /Token not accepted/, 'a wrong token is refused')
    await page.fill('#token', ADMIN_TOKEN)
    await page.click('button[type=submit]')
    await page.waitForSelector('#dash:not([hidden])')
    await page.waitForFunction(() => document.getElementById('status')!.dataset.state === 'live')
    t.equal(await page.inputValue('#token'), '', 'the field is cleared after sign-in')
    t.notOk(page.url().includes(ADMIN_TOKEN), 'the token is not in the URL')

    // Approved and declined taps in three cities, sent while the page watches.
    const taps: Array<[string, string, string, unknown?]> = [
      ['jinan-bus-01', 'JN0000001', '370100'], ['qingdao-bus-01', 'QD0000002', '370200'], ['zhengzhou-bus-01', 'ZZ0000004', '410100'],
      ['jinan-bus-01', 'JN0000006', '370100'], ['jinan-metro-01', 'ZZ0000001', '410100', { direction: 'in' }], ['jinan-metro-03', 'ZZ0000001', '410100', { direction: 'out' }],
      ['qingdao-bus-01', 'XX0000009', '370200'], ['zhengzhou-bus-01', 'ZZ0000005', '410100']
    ]
    for (const [terminal, cardNo, issuer, context] of taps) {
      const answer = await h.tap(terminal, { tapId: tapId('ui'), at: localAt(), card: physical(cardNo, issuer), ...(context === undefined ? {} : { context }) })
      t.equal(answer.statusCode, 200, `${terminal} ${answer.json?.decision} ${answer.json?.reason ?? ''}`)
    }
    await page.waitForFunction(n => document.querySelectorAll('#live tbody tr').length >= n, taps.length)
    const rows = await page.$$eval('#live tbody tr', trs => trs.map(tr => [...tr.querySelectorAll('td')].map(td => td.textContent)))
    t.equal(rows.length, taps.length, 'every tap appeared live')
    t.ok(rows.some(r => r[1] === 'zhengzhou-bus-01' && r[4] === 'declined' && r[5] === 'CARD_BLOCKED'), 'a decline shows its reason')
    t.ok(rows.every(r => /^card_[0-9a-f]{12}$/.test(String(r[7])) || (r[5] === 'CARD_UNKNOWN' && r[7] === '—')), 'cards are tokens (none for an unknown card)')
    await page.waitForFunction(n => document.getElementById('t-taps')!.textContent === String(n), taps.length)
    await page.waitForFunction(() => document.querySelectorAll('#d-reason tbody tr td.num').length >= 2)
    t.match(await page.textContent('#d-reason'), /CARD_BLOCKED/, 'declines by reason')
    t.match(await page.textContent('#d-city'), /zhengzhou/, 'declines by city')
    t.match(await page.textContent('#terminals'), /jinan-metro-03/, 'terminal health lists the terminals seen')
    await page.waitForFunction(() => document.getElementById('settle-days')!.textContent !== '')
    t.match(await page.textContent('#settle-days'), /^[0-9]{4}-[0-9]{2}-[0-9]{2}: 未结算 · open$/, 'the per-day API: today is an open day')
    await page.click('#settle-form button') // the taps came after sign-in: read the range again
    await page.waitForFunction(() => document.querySelectorAll('#settle tbody tr td.num').length > 0)
    t.match(await page.textContent('#settle tbody'), /jinan/, 'settlement rows for today\'s approved taps')
    t.match(await page.textContent('#settle tfoot'), /Total/)

    const html = await page.content()
    const text = await page.innerText('body')
    for (const card of loadFixtures().demo.cards) {
      if (html.includes(card.cardNo) || text.includes(card.cardNo)) t.fail(`card number ${card.cardNo} is on the page`)
    }
    t.pass('no card number on the page')
    await page.screenshot({ path: join(shots, 'console.png'), fullPage: true })

    // The read-only role signs in too.
    const opsPage = await context.newPage()
    opsPage.setDefaultTimeout(STEP_MS)
    opsPage.on('pageerror', e => problems.push(`page error (ops): ${e.message}`))
    await opsPage.goto(`${base}/console`)
    await opsPage.fill('#token', OPS)
    await opsPage.click('button[type=submit]')
    await opsPage.waitForSelector('#dash:not([hidden])')
    t.match(await opsPage.textContent('#t-role'), /read-only/)
    await opsPage.waitForFunction(n => document.querySelectorAll('#live tbody tr').length >= n, taps.length)
    await opsPage.close()

    await page.goto(`${base}/docs`)
    await page.waitForSelector('.swagger-ui .opblock')
    await page.screenshot({ path: join(shots, 'docs.png') })

    t.same(problems, [], 'no script errors')
    t.same(outside, [], 'no request leaves the service (no CDN)')
    if (process.env.UPDATE_SCREENSHOTS !== '1') rmSync(shots, { recursive: true, force: true })
  })
}
