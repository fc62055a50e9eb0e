// The OpenAPI document: what GET /docs/json serves equals the committed openapi.json, it is a valid
// OpenAPI 3.1 document (@seriousme/openapi-schema-validator), it covers every path of the contract,
// every operation has its error answers, and terminal routes carry the signing security scheme.
import t from 'tap'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Validator } from '@seriousme/openapi-schema-validator'
import { openApiFileText } from '../../src/docs/openapi-document.js'
import { buildTestApp } from '../helpers/app.js'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const SPEC = join(ROOT, '..', 'shared', 'spec', 'api-v1.md')

/** Every method and path api-v1 names (1.0 and 1.1), as `METHOD /path/{param}`. */
const CONTRACT = [
  'GET /healthz', 'GET /v1/scenarios', 'GET /v1/cities',
  'POST /v1/admin/terminals', 'POST /v1/admin/cards', 'GET /v1/admin/cards/{cardNo}', 'PATCH /v1/admin/cards/{cardNo}',
  'POST /v1/admin/cards/{cardNo}/credits', 'GET /v1/admin/cards/{cardNo}/taps', 'POST /v1/admin/cards/{cardNo}/qr',
  'POST /v1/taps', 'POST /v1/taps/batch',
  'GET /v1/terminal/denylist', 'POST /v1/admin/taps/{terminalId}/{tapId}/refund',
  'GET /v1/admin/settlement/days/{date}', 'POST /v1/admin/settlement/days/{date}/close',
  'GET /docs', 'GET /docs/json', 'GET /console'
]
/** 1.1 names whose issues had not landed when this was written: documented, or not served at all. */
const NOT_YET_SERVED = new Set<string>()
/** The document describes the API; the two routes that serve the document are not in it. */
const SERVES_THE_DOCUMENT = new Set(['GET /docs', 'GET /docs/json'])

t.test('served document equals the committed openapi.json', async t => {
  const h = await buildTestApp(t, { seed: 'none' })
  const served = await h.app.inject('/docs/json')
  t.equal(served.statusCode, 200)
  t.equal(openApiFileText(served.body), readFileSync(join(ROOT, 'openapi.json'), 'utf8'), 'openapi.json is current (npm run openapi rewrites it)')
  const ui = await h.app.inject('/docs')
  const page = ui.statusCode === 302 ? await h.app.inject(String(ui.headers.location).replace(/^\.\//, '/docs/')) : ui
  t.equal(page.statusCode, 200, 'Swagger UI answers')
  t.match(page.body, /swagger-ui/i)
  t.notMatch(page.body, /https?:\/\/(?!127\.0\.0\.1)[a-z]/i, 'no asset from another host')
})

t.test('valid OpenAPI 3.1', async t => {
  const doc = JSON.parse(readFileSync(join(ROOT, 'openapi.json'), 'utf8'))
  const validator = new Validator()
  const result = await validator.validate(doc)
  t.same(result.errors, undefined, 'no validation errors')
  t.equal(result.valid, true)
  t.equal(validator.version, '3.1')
})

t.test('every contract path, error answers and security', async t => {
  const doc = JSON.parse(readFileSync(join(ROOT, 'openapi.json'), 'utf8')) as { paths: Record<string, Record<string, any>>, components: any }
  if (existsSync(SPEC)) {
    // The list above is the spec's: catch a name added to the spec and not to the list.
    const named = new Set<string>()
    for (const m of readFileSync(SPEC, 'utf8').matchAll(/`(GET|POST|PATCH) (\/[^`?\s]+)/g)) named.add(`${m[1]} ${m[2]!.replace(/:([A-Za-z]+)/g, '{$1}')}`)
    for (const name of named) t.ok(CONTRACT.includes(name), `${name} (named in api-v1) is in the contract list`)
  }
  const h = await buildTestApp(t, { seed: 'none' })
  for (const name of CONTRACT) {
    const [method, path] = name.split(' ') as [string, string]
    if (SERVES_THE_DOCUMENT.has(name)) continue
    if (NOT_YET_SERVED.has(name) && doc.paths[path]?.[method.toLowerCase()] === undefined) {
      const url = path.replace(/\{date\}/, '2026-07-01').replace(/\{[A-Za-z]+\}/g, 'x')
      const answer = await h.app.inject({ method: method as 'GET', url, headers: { authorization: 'Bearer test-admin-token' } })
      t.equal(answer.json().error.message, 'no such route', `${name} is not served yet (document it when it is)`)
      continue
    }
    t.ok(doc.paths[path]?.[method.toLowerCase()], `${name} is documented`)
  }
  const schemes = doc.components.securitySchemes
  t.match(schemes.terminalSignature, { type: 'apiKey', in: 'header', name: 'X-Signature', description: /HMAC-SHA256/ })
  t.match(schemes.adminToken, { type: 'http', scheme: 'bearer' })
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const codes = Object.keys(op.responses ?? {})
      t.ok(codes.some(c => c.startsWith('2')), `${method} ${path} documents its success answer`)
      for (const c of codes.filter(c => /^[45]/.test(c))) {
        t.equal(op.responses[c].content?.['application/json']?.schema?.$ref, '#/components/schemas/error.json', `${method} ${path} ${c} is the error body`)
      }
      if (path.startsWith('/v1/taps') || path.startsWith('/v1/terminal/')) {
        t.same(op.security, [{ terminalId: [], terminalTimestamp: [], terminalSignature: [] }], `${method} ${path} is signed`)
        t.ok(op.responses['401'], `${method} ${path} documents 401`)
      }
      if (path.startsWith('/v1/admin/')) t.same(op.security, [{ adminToken: [] }], `${method} ${path} needs the bearer token`)
    }
  }
})
