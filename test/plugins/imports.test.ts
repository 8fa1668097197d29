// Bundled plugins are written against @tollgate/sdk only, like anyone else's: a plugin that
// reaches into core/ would break when core changes, and would show third-party authors an
// API they cannot have.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const root = fileURLToPath(new URL('../../plugins/', import.meta.url))

function sources (dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [])
}

/**
 * npm packages a bundled plugin may import, as a third-party plugin would depend on its
 * own: listed by plugin, so a new one is a decision, not an accident. Never core/.
 */
const PACKAGES: Record<string, string[]> = {
  // The redis policy's client (package.json dependencies).
  'rate-limiting': ['ioredis'],
  // Signature verification (HS/RS/ES), package.json dependencies.
  jwt: ['jose'],
  // The log server's HTTP client with keep-alive pools, package.json dependencies.
  'http-log': ['undici'],
}

t.test('bundled plugins import only @tollgate/sdk, node built-ins, their own folder and their listed packages', async (t) => {
  const files = sources(root).filter((f) => f !== join(root, 'index.ts'))
  t.ok(files.length > 0, 'plugin sources found')
  for (const file of files) {
    const own = file.slice(root.length).split('/')[0] as string
    const text = readFileSync(file, 'utf8')
    // Every `import ... 'x'` (with or without `from`) and every `export ... from 'x'`.
    const specifiers = [...text.matchAll(/^\s*import\b[^'"]*['"]([^'"]+)['"]/gm), ...text.matchAll(/^\s*export\b[^'"]*?\bfrom\s+['"]([^'"]+)['"]/gm)].map((m) => m[1] as string)
    for (const s of specifiers) {
      const ok = s === '@tollgate/sdk' || s.startsWith('node:') || (s.startsWith('./') && !s.includes('..')) || (PACKAGES[own]?.includes(s) ?? false)
      t.ok(ok, `${own}/${file.slice(root.length + own.length + 1)} imports '${s}'`)
    }
    t.notOk(/\bimport\s*\(/.test(text), `${file.slice(root.length)} has no dynamic import`)
  }
})
