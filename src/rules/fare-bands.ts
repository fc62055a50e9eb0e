// Distance → fare by band table (fixtures/tariffs/metro.json `fare`).
// Distances are handled in whole metres so band edges are exact: "≤ 5 km" includes 5.000 km and
// nothing above it, with no floating-point sums deciding a boundary.

export interface FareBand {
  /** Upper edge of the band, inclusive. */
  upToKm: number
  fareFen: number
}

export interface FareTable {
  /** Ascending by upToKm; the first band's fare is the minimum fare. */
  bands: FareBand[]
  /** Past the last band: +stepFen for every started everyKm. Without it the last fare is the cap. */
  beyond?: { everyKm: number, stepFen: number }
}

export function metresOfKm (km: number): number {
  return Math.round(km * 1000)
}

export function minimumFareFen (table: FareTable): number {
  const first = table.bands[0]
  if (first === undefined) throw new Error('fare table has no bands')
  return first.fareFen
}

export function fareForMetres (table: FareTable, metres: number): number {
  for (const band of table.bands) {
    if (metres <= metresOfKm(band.upToKm)) return band.fareFen
  }
  const last = table.bands[table.bands.length - 1]
  if (last === undefined) throw new Error('fare table has no bands')
  if (table.beyond === undefined) return last.fareFen
  const overMetres = metres - metresOfKm(last.upToKm)
  const steps = Math.ceil(overMetres / metresOfKm(table.beyond.everyKm))
  return last.fareFen + steps * table.beyond.stepFen
}

/** Why a table cannot be used, or null. Checked by tests over every city's tariff. */
export function fareTableProblem (table: FareTable): string | null {
  if (table.bands.length === 0) return 'no bands'
  for (let i = 0; i < table.bands.length; i++) {
    const band = table.bands[i] as FareBand
    if (!Number.isSafeInteger(band.fareFen) || band.fareFen < 0) return `band ${i}: fare must be integer fen ≥ 0`
    const previous = table.bands[i - 1]
    if (previous !== undefined && band.upToKm <= previous.upToKm) return `band ${i}: upToKm must ascend`
    if (previous !== undefined && band.fareFen < previous.fareFen) return `band ${i}: fare must not fall`
  }
  if (table.beyond !== undefined && !(table.beyond.everyKm > 0)) return 'beyond.everyKm must be > 0'
  return null
}

/** Fen as yuan text for messages: 250 → "2.50". */
export function yuanText (fen: number): string {
  return (fen / 100).toFixed(2)
}
