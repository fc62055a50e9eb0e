// Bus: a flat fare per city (fixtures/tariffs/bus.json), paid from the card's bank account.
import type { RuleModule } from './types.js'

export interface BusTariff {
  /** Flat fare in fen. */
  fareFen: number
}

export const bus: RuleModule<BusTariff> = {
  code: 'bus',
  contextSchema: { type: 'object', additionalProperties: false, properties: {} },
  reasons: {},
  reversible: false,
  decide ({ tariff }) {
    return {
      decision: 'approved',
      payments: [{ account: 'bank', amount: tariff.fareFen }],
      message: { zh: '乘车成功', en: 'Have a good ride' }
    }
  }
}
