// A city's metro network as a graph, and shortest-route distances over it (Dijkstra).
// Fares are by the km of the shortest route, whichever way the rider really went. Stations are
// nodes; consecutive stations on a line are joined by an edge of the km between them; an
// interchange is one node because every line through it uses the same station id.
// Built once per city fixture (cached by object identity) and distances are memoised per origin,
// so after warm-up a fare lookup is two map reads and an array index.
import { metresOfKm } from './fare-bands.js'
import type { Message } from './types.js'

export interface MetroStationFixture { id: string, name: Message, km?: number }
export interface MetroLineFixture { id: string, name: Message, stations: MetroStationFixture[] }
/** The part of a cities.json entry the network needs. */
export interface MetroCityFixture { city: string, metro: { lines: MetroLineFixture[] } }

interface Edge { to: number, metres: number }

export interface MetroNetwork {
  city: string
  stationIndex: Map<string, number>
  stationIds: string[]
  edges: Edge[][]
  /** Shortest distances in metres from an origin index to every station (Infinity = unreachable). */
  distancesFrom: Map<number, Float64Array>
}

const networks = new WeakMap<MetroCityFixture, MetroNetwork>()

export function metroNetworkOf (city: MetroCityFixture): MetroNetwork {
  let network = networks.get(city)
  if (network === undefined) {
    network = buildMetroNetwork(city)
    networks.set(city, network)
  }
  return network
}

export function buildMetroNetwork (city: MetroCityFixture): MetroNetwork {
  const network: MetroNetwork = {
    city: city.city, stationIndex: new Map(), stationIds: [], edges: [], distancesFrom: new Map()
  }
  for (const line of city.metro.lines) addLine(network, line)
  return network
}

function nodeOf (network: MetroNetwork, stationId: string): number {
  let index = network.stationIndex.get(stationId)
  if (index === undefined) {
    index = network.stationIds.length
    network.stationIndex.set(stationId, index)
    network.stationIds.push(stationId)
    network.edges.push([])
  }
  return index
}

function addLine (network: MetroNetwork, line: MetroLineFixture): void {
  let previous: { node: number, km: number } | undefined
  for (const station of line.stations) {
    if (typeof station.km !== 'number') throw new Error(`metro ${line.id}: station ${station.id} has no km`)
    const node = nodeOf(network, station.id)
    if (previous !== undefined) addEdge(network, previous.node, node, metresOfKm(Math.abs(station.km - previous.km)))
    previous = { node, km: station.km }
  }
}

// Two lines may run between the same pair of stations; only the shorter link matters.
function addEdge (network: MetroNetwork, a: number, b: number, metres: number): void {
  for (const [from, to] of [[a, b], [b, a]] as const) {
    const list = network.edges[from] as Edge[]
    const existing = list.find(e => e.to === to)
    if (existing === undefined) list.push({ to, metres })
    else existing.metres = Math.min(existing.metres, metres)
  }
}

export function hasStation (network: MetroNetwork, stationId: string): boolean {
  return network.stationIndex.has(stationId)
}

/** Shortest-route distance in metres between two stations, or null if either is unknown or unreachable. */
export function shortestMetres (network: MetroNetwork, fromId: string, toId: string): number | null {
  const from = network.stationIndex.get(fromId)
  const to = network.stationIndex.get(toId)
  if (from === undefined || to === undefined) return null
  let distances = network.distancesFrom.get(from)
  if (distances === undefined) {
    distances = dijkstra(network, from)
    network.distancesFrom.set(from, distances)
  }
  const metres = distances[to] as number
  return Number.isFinite(metres) ? metres : null
}

export function shortestKm (network: MetroNetwork, fromId: string, toId: string): number | null {
  const metres = shortestMetres(network, fromId, toId)
  return metres === null ? null : metres / 1000
}

/** Single-source shortest paths with a binary min-heap. Exported for the benchmark's cold path. */
export function dijkstra (network: MetroNetwork, origin: number): Float64Array {
  const distances = new Float64Array(network.stationIds.length).fill(Infinity)
  distances[origin] = 0
  const heap = new MinHeap()
  heap.push(origin, 0)
  for (let top = heap.pop(); top !== undefined; top = heap.pop()) {
    if (top.metres > (distances[top.node] as number)) continue // stale entry
    for (const edge of network.edges[top.node] as Edge[]) {
      const through = top.metres + edge.metres
      if (through < (distances[edge.to] as number)) {
        distances[edge.to] = through
        heap.push(edge.to, through)
      }
    }
  }
  return distances
}

/** The longest shortest route in the network: what the maximum fare must cover. */
export function longestShortestMetres (network: MetroNetwork): number {
  let longest = 0
  for (let origin = 0; origin < network.stationIds.length; origin++) {
    for (const metres of dijkstra(network, origin)) if (Number.isFinite(metres)) longest = Math.max(longest, metres)
  }
  return longest
}

interface HeapEntry { node: number, metres: number }

class MinHeap {
  private readonly items: HeapEntry[] = []

  push (node: number, metres: number): void {
    const items = this.items
    items.push({ node, metres })
    let i = items.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if ((items[parent] as HeapEntry).metres <= metres) break
      items[i] = items[parent] as HeapEntry
      i = parent
    }
    items[i] = { node, metres }
  }

  pop (): HeapEntry | undefined {
    const items = this.items
    const top = items[0]
    const last = items.pop()
    if (top === undefined || last === undefined || items.length === 0) return top
    let i = 0
    for (;;) {
      const left = 2 * i + 1
      if (left >= items.length) break
      const right = left + 1
      const child = right < items.length && (items[right] as HeapEntry).metres < (items[left] as HeapEntry).metres ? right : left
      if ((items[child] as HeapEntry).metres >= last.metres) break
      items[i] = items[child] as HeapEntry
      i = child
    }
    items[i] = last
    return top
  }
}
