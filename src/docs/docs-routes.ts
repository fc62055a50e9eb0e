// GET /docs (Swagger UI) and GET /docs/json (OpenAPI 3.1), generated from the routes and the
// contract schemas in schemas/. Registered before the route plugins: @fastify/swagger collects
// routes as they are added. Runtime validation and serialisation are untouched: the error answers,
// the bodies of routes that send pre-serialised bytes, and the security requirements are added to
// the document only (transform), from the table below.
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

export const OPENAPI_INFO = {
  title: 'yikatong 一卡通 auth API',
  version: '1.0.0',
  description: 'Social security card taps across Jinan, Qingdao and Zhengzhou. All amounts are integer fen; all times RFC 3339. ' +
    'Every non-2xx answer is {"error":{"code","message"}}. Terminal calls are signed (see the terminalSignature scheme); ' +
    'admin calls carry a bearer token (ADMIN_TOKEN, or OPS_TOKEN for the read-only routes).'
}

const SIGNING = 'X-Signature = lowercase hex of HMAC-SHA256 keyed with the UTF-8 bytes of the terminal secret, over ' +
  'METHOD + "\\n" + PATH (path and query as sent) + "\\n" + X-Timestamp + "\\n" + lowercase hex SHA-256 of the raw body bytes ' +
  '(of the empty string when there is no body). X-Timestamp is Unix time in ms and must be within ±300 s of the server clock. ' +
  'All three headers are required together; recipes in curl+openssl, Python, Java, Go and C are in docs/recipes/.'

const securitySchemes = {
  terminalId: { type: 'apiKey', in: 'header', name: 'X-Terminal-Id', description: 'The terminal id. ' + SIGNING },
  terminalTimestamp: { type: 'apiKey', in: 'header', name: 'X-Timestamp', description: 'Unix time in milliseconds at signing. ' + SIGNING },
  terminalSignature: { type: 'apiKey', in: 'header', name: 'X-Signature', description: SIGNING },
  adminToken: { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN: every /v1/admin route. OPS_TOKEN (read-only ops role): GET ledger/check, settlement, audit, terminals/:terminalId and the console.' }
}
const TERMINAL_SECURITY = [{ terminalId: [], terminalTimestamp: [], terminalSignature: [] }]
const ADMIN_SECURITY = [{ adminToken: [] }]

const ref = (id: string): { $ref: string } => ({ $ref: `${id}#` })
const json = (schema: unknown, description: string): unknown => ({ description, content: { 'application/json': { schema } } })
const errorAnswer = (description: string): unknown => json(ref('error.json'), description)

/** Answers the routes send as pre-serialised bytes (no response schema at run time). */
const SUCCESS_BODY: Record<string, { status: number, schema: unknown, description: string, type?: string }> = {
  'GET /healthz': { status: 200, schema: ref('health-response.json'), description: 'The ledger is open and writable' },
  'GET /readyz': { status: 200, schema: { type: 'object', required: ['status'], properties: { status: { const: 'ready' } } }, description: 'Ready for traffic: ledger writable, tap queue below its high-water mark, not shutting down' },
  'GET /v1/scenarios': { status: 200, schema: ref('scenarios-response.json'), description: 'The 6 domains and 26 scenarios' },
  'GET /v1/cities': { status: 200, schema: ref('cities-response.json'), description: 'Cities, metro networks and venues' },
  'GET /metrics': { status: 200, schema: { type: 'string' }, description: 'Prometheus text exposition format', type: 'text/plain; version=0.0.4' },
  'POST /v1/taps': { status: 200, schema: ref('tap-response.json'), description: 'The decision (approved or declined: 200 either way)' },
  'POST /v1/taps/batch': { status: 200, schema: ref('tap-batch-response.json'), description: 'One result per tap, in upload order' },
  'GET /v1/admin/ledger/check': { status: 200, schema: { type: 'object', additionalProperties: true }, description: 'The ledger invariants report' },
  'GET /v1/admin/settlement': { status: 200, schema: { type: 'object', additionalProperties: true, required: ['from', 'to', 'rows', 'totals'] }, description: 'Per city, operator, scenario and issuer city' },
  'GET /console': { status: 200, schema: { type: 'string' }, description: 'The ops console (HTML)', type: 'text/html; charset=utf-8' },
  'GET /console/assets/:file': { status: 200, schema: { type: 'string' }, description: 'The console\'s own script and style files', type: 'text/javascript; charset=utf-8' },
  'GET /console/api/session': { status: 200, schema: { type: 'object', required: ['role'], properties: { role: { enum: ['admin', 'ops'] } } }, description: 'The role the bearer token holds' },
  'GET /console/api/stats': { status: 200, schema: { type: 'object', additionalProperties: true, required: ['taps', 'latency', 'perSecond', 'declines', 'terminals'] }, description: 'Counters since the process started: latency histogram, decisions per second, declines by reason/scenario/city, terminal health' },
  'GET /console/api/live': {
    status: 200,
    schema: { type: 'string', description: 'Server-Sent Events: "event: decision" with data {at, terminal, scenario, city, decision, reason, amount, card (a token, never the number), latencyMs, replay}; the last 200 first, then each new one' },
    description: 'Live tap decisions (at most 16 streams at once: 503 OVERLOADED beyond)',
    type: 'text/event-stream'
  }
}

/** Error answers each kind of route can give (api-v1 "Errors"). */
function errorAnswers (method: string, url: string, hasBody: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  const terminal = url.startsWith('/v1/taps') || url.startsWith('/v1/terminal/')
  const admin = url.startsWith('/v1/admin/')
  const consoleApi = url.startsWith('/console/api/')
  if (hasBody || url.includes(':') || url === '/v1/admin/settlement' || url === '/v1/admin/audit') out['400'] = errorAnswer('BAD_REQUEST: the body or parameters fail the schema, malformed JSON, bad card number')
  if (terminal) {
    out['401'] = errorAnswer('UNAUTHENTICATED: missing or unknown terminal, bad signature, timestamp outside ±300 s')
    out['403'] = errorAnswer('FORBIDDEN: the terminal is disabled (or the operation is not allowed for its scenario)')
    out['429'] = errorAnswer('RATE_LIMITED: the terminal is over its request rate')
  }
  if (admin || consoleApi) out['401'] = errorAnswer('UNAUTHENTICATED: bad or missing bearer token')
  if (admin) out['403'] = errorAnswer('FORBIDDEN: the ops token is read-only (this route needs the admin token)')
  if (url === '/console/api/live') out['503'] = errorAnswer('OVERLOADED: the maximum number of live streams is open')
  if (url.includes(':') || admin) out['404'] = errorAnswer('NOT_FOUND: unknown card, terminal, tap or day')
  if (method === 'POST' && (admin || terminal)) out['409'] = errorAnswer('CONFLICT or TAP_ID_CONFLICT: a duplicate id with another body')
  if (hasBody) {
    out['413'] = errorAnswer('PAYLOAD_TOO_LARGE: body over the limit')
    out['415'] = errorAnswer('UNSUPPORTED_MEDIA_TYPE: the body is not application/json')
  }
  if (url.startsWith('/v1/taps') || url === '/healthz' || url === '/readyz') out['503'] = errorAnswer('OVERLOADED: the service sheds load; retry the same tap with the same tapId and bytes')
  return out
}

export interface DocsOptions { serverUrl?: string }

async function docs (app: FastifyInstance, _o: DocsOptions): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: OPENAPI_INFO,
      components: { securitySchemes: securitySchemes as never },
      tags: [
        { name: 'public', description: 'No authentication' },
        { name: 'terminal', description: 'Signed by the terminal (HMAC-SHA256)' },
        { name: 'admin', description: 'Bearer ADMIN_TOKEN (or OPS_TOKEN for reads)' },
        { name: 'ops', description: 'Console and readiness' }
      ]
    },
    // Components keep the schemas' own names (tap-request.json), not def-0, def-1, ...
    refResolver: { buildLocalReference: (schema, _base, _fragment, i) => String((schema as { $id?: string }).$id ?? `def-${i}`) },
    transform: ({ schema, url, route }) => {
      const method = String(Array.isArray(route.method) ? route.method[0] : route.method)
      const key = `${method} ${url}`
      const s: Record<string, unknown> = { ...(schema as Record<string, unknown> | undefined) }
      const response: Record<string, unknown> = { ...(s.response as Record<string, unknown> | undefined) }
      const success = SUCCESS_BODY[key]
      if (success !== undefined && response[String(success.status)] === undefined) {
        response[String(success.status)] = success.type === undefined
          ? { description: success.description, ...(success.schema as object) }
          : { description: success.description, content: { [success.type]: { schema: success.schema } } }
      }
      for (const [status, answer] of Object.entries(errorAnswers(method, url, s.body !== undefined))) response[status] ??= answer
      if (Object.keys(response).length > 0) s.response = response
      s.tags ??= [url.startsWith('/v1/admin/') ? 'admin' : url.startsWith('/v1/taps') || url.startsWith('/v1/terminal/') ? 'terminal' : url.startsWith('/console') || url === '/readyz' ? 'ops' : 'public']
      if (url.startsWith('/v1/admin/') || url.startsWith('/console/api/')) s.security ??= ADMIN_SECURITY
      if (url.startsWith('/v1/taps') || url.startsWith('/v1/terminal/')) s.security ??= TERMINAL_SECURITY
      return { schema: s as never, url }
    }
  })
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    // No calls out of the service: the online validator badge is off; assets come from the package.
    uiConfig: { validatorUrl: null, docExpansion: 'list', deepLinking: true },
    // Everything from this origin; Swagger UI sets inline styles, so style-src allows them (it runs no
    // inline script). No https: wildcard, unlike the plugin's default.
    staticCSP: "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'"
  })
}

/** Not encapsulated, so @fastify/swagger sees the routes registered after it. */
export const docsRoutes = fp(docs, { name: 'yikatong-docs' })
