// `npm run sdk:types`: regenerates terminals/sdk/contract-types.ts from schemas/.
import { writeFileSync } from 'node:fs'
import { contractTypes } from '../terminals/sdk/generate-types.js'

if (process.argv.includes('--help')) {
  process.stdout.write('usage: npm run sdk:types\n  writes terminals/sdk/contract-types.ts from schemas/*.json\n')
  process.exit(0)
}
writeFileSync('terminals/sdk/contract-types.ts', await contractTypes())
process.stdout.write('wrote terminals/sdk/contract-types.ts\n')
