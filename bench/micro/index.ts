// `npm run bench:micro [-- NAME...]`: the hot-path micro-benchmarks, each in its own process.
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const all = ['router', 'plugins', 'key-lookup', 'worker', 'balancer', 'rate-limiting']
const chosen = process.argv.slice(2).length > 0 ? process.argv.slice(2) : all
for (const name of chosen) {
  if (!all.includes(name)) { console.error(`unknown micro-benchmark '${name}' (have: ${all.join(', ')})`); process.exit(1) }
  console.log(`\n### ${name}\n`)
  const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(new URL(`./${name}.ts`, import.meta.url))], { stdio: 'inherit' })
  if (r.status !== 0) process.exit(r.status ?? 1)
}
