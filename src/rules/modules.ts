// Every rule module, by code. scenarios.json names the module each scenario runs.
import type { RuleModule } from './types.js'
import { bus } from './bus.js'

export const ruleModules: Readonly<Record<string, RuleModule<any>>> = {
  bus
}
