// Unauthenticated routes: health, the scenario catalogue, cities, metrics.
import type { FastifyInstance } from 'fastify'
import type { Catalogue } from '../rules/catalogue.js'
import { CORE_REASONS } from '../rules/engine.js'
import type { Service } from '../service/service.js'
import type { Metrics } from '../metrics.js'
import { errorBody, ErrorCode } from '../errors.js'

export interface PublicRoutesOptions { service: Service, metrics: Metrics }

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
  const scenarios = JSON.stringify(scenariosDocument(o.service.catalogue))
  const cities = JSON.stringify(citiesDocument(o.service.catalogue))

  // Healthy means the ledger committed a write just now (a full disk or a dead writer fails it).
  app.get('/healthz', async (_request, reply) => {
    const health = await o.service.health()
    if (!health.writable) return reply.code(503).send(errorBody(ErrorCode.OVERLOADED, `ledger is not writable: ${health.detail}`))
    return { status: 'ok' }
  })
  app.get('/v1/scenarios', async (_request, reply) => reply.type('application/json; charset=utf-8').send(scenarios))
  app.get('/v1/cities', async (_request, reply) => reply.type('application/json; charset=utf-8').send(cities))
  app.get('/metrics', async (_request, reply) => {
    reply.type(o.metrics.registry.contentType)
    return await o.metrics.registry.metrics()
  })
}
