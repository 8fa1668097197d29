#!/usr/bin/env node
// Runs the compiled CLI. `npm install` compiles it (the `prepare` script); this message
// covers a checkout where that did not happen.
import { existsSync } from 'node:fs'

const entry = new URL('../dist/core/cli/main.js', import.meta.url)
if (!existsSync(entry)) {
  process.stderr.write('Error: tollgate is not built; run `npm install` (or `npm run build`) in its directory\n')
  process.exit(1)
}
const { main } = await import(entry.href)
await main(process.argv.slice(2))
