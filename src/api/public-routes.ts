// Unauthenticated routes: health, the scenario catalogue, cities, metrics.
import type { FastifyInstance } from 'fastify'
import type { Catalogue } from '../rules/catalogue.js'
import { CORE_REASONS } from '../rules/engine.js'
import type { Ledger } from '../ledger/ledger.js'
import type { Metrics } from '../metrics.js'
import { errorBody, ErrorCode } from '../errors.js'

export interface PublicRoutesOptions { ledger: Ledger, metrics: Metrics }

export function scenariosDocument (catalogue: Catalogue): unknown {
  return {
    domains: catalogue.fixtures.domains,
    scenarios: [...catalogue.scenarios.values()].map(({ fixture, module, location }) => ({
      ...fixture,
      location,
      contextSchema: module.contextSchema,
      reasons: Object.entries({ ...CORE_REASONS, ...module.reasons }).map(([code, message]) => ({ code, message })),
      reversible: module.reversible
    }))
  }
}

export function citiesDocument (catalogue: Catalogue): unknown {
  return {
    cities: [...catalogue.cities.values()].map(({ fixture, venues }) => ({
      city: fixture.city,
      issuer: fixture.issuer,
      name: fixture.name,
      province: fixture.province,
      metro: fixture.metro,
      venues: [...venues.values()].map(v => ({ id: v.id, scenario: v.scenario, name: v.name }))
    }))
  }
}

export async function publicRoutes (app: FastifyInstance, o: PublicRoutesOptions): Promise<void> {
  // Static documents: serialised once at start, served as bytes.
  const scenarios = JSON.stringify(scenariosDocument(o.ledger.catalogue))
  const cities = JSON.stringify(citiesDocument(o.ledger.catalogue))
  const healthCheck = o.ledger.db.prepare('SELECT 1').pluck()

  app.get('/healthz', async (_request, reply) => {
    if (!o.ledger.db.open || o.ledger.db.readonly || healthCheck.get() !== 1) {
      return reply.code(503).send(errorBody(ErrorCode.OVERLOADED, 'ledger is not open for writing'))
    }
    return { status: 'ok' }
  })
  app.get('/v1/scenarios', async (_request, reply) => reply.type('application/json; charset=utf-8').send(scenarios))
  app.get('/v1/cities', async (_request, reply) => reply.type('application/json; charset=utf-8').send(cities))
  app.get('/metrics', async (_request, reply) => {
    reply.type(o.metrics.registry.contentType)
    return await o.metrics.registry.metrics()
  })
}
