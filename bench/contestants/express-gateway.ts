// Peer: express-gateway with its key-auth policy, Redis emulated in memory (its own
// development setting: no Redis server needed). Usage: express-gateway.ts PORT ADMIN_PORT UPSTREAM_PORT
// The harness then creates a user and a key-auth credential through its Admin API and
// sends the key as `apikey: <keyId>:<keySecret>` (headers scheme disabled).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, cpSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'

const [port, adminPort, upstreamPort] = process.argv.slice(2).map(Number)
const require = createRequire(import.meta.url)
const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-eg-'))
process.on('exit', () => rmSync(dir, { recursive: true, force: true }))
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => process.exit(0))

writeFileSync(join(dir, 'system.config.yml'), `db:
  redis:
    emulate: true
    namespace: EG
crypto:
  cipherKey: benchmarkCipherKey
  algorithm: aes256
  saltRounds: 10
session:
  secret: benchmark
  resave: false
  saveUninitialized: false
accessTokens:
  timeToExpiry: 7200000
refreshTokens:
  timeToExpiry: 7200000
authorizationCodes:
  timeToExpiry: 300000
`)
writeFileSync(join(dir, 'gateway.config.yml'), `http:
  port: ${port as number}
  host: 127.0.0.1
admin:
  port: ${adminPort as number}
  host: 127.0.0.1
apiEndpoints:
  bench:
    host: '*'
    paths: ['/bench', '/bench/*']
serviceEndpoints:
  upstream:
    url: 'http://127.0.0.1:${upstreamPort as number}'
policies:
  - key-auth
  - proxy
pipelines:
  bench:
    apiEndpoints:
      - bench
    policies:
      - key-auth:
          - action:
              apiKeyHeader: apikey
              disableHeadersScheme: true
      - proxy:
          - action:
              serviceEndpoint: upstream
`)
// The user, application and credential models ship with the package.
const models = join(dirname(require.resolve('express-gateway/package.json')), 'lib', 'config', 'models')
mkdirSync(join(dir, 'models'))
cpSync(models, join(dir, 'models'), { recursive: true })

const gateway = require('express-gateway') as () => { load: (dir: string) => { run: () => Promise<unknown> } }
await gateway().load(dir).run()
process.stdout.write('ready\n')
