// Every rule module, by code. scenarios.json names the module each scenario runs.
import type { RuleModule } from './types.js'
import { bus } from './bus.js'
import { cardholderOffer } from './cardholder-offer.js'
import { hospitalSettlement } from './hospital-settlement.js'
import { identityCheck } from './identity-check.js'
import { library } from './library.js'
import { metro } from './metro.js'
import { pharmacy } from './pharmacy.js'
import { scenic } from './scenic.js'
import { terminalPayment } from './terminal-payment.js'
import { venueEntry } from './venue-entry.js'

export const ruleModules: Readonly<Record<string, RuleModule<any>>> = {
  scenic,
  library,
  pharmacy,
  'identity-check': identityCheck,
  'venue-entry': venueEntry,
  'terminal-payment': terminalPayment,
  'hospital-settlement': hospitalSettlement,
  'cardholder-offer': cardholderOffer,
  bus,
  metro
}
