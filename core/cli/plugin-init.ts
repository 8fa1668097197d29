// `tollgate plugin init NAME [--dir DIR] [--sdk PATH]`: a plugin folder with a descriptor, a test that
// passes, and the scripts to test and build it.

import { existsSync, statSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { makeDirectory } from '../dirs.js'
import { ConfigError } from '../errors.js'
import { SDK_VERSION } from '../meta.js'

const NAME_RE = /^[a-z0-9][a-z0-9_-]*$/

/**
 * `sdk`: where the project gets @tollgate/sdk. Unset, the published version range this
 * gateway's SDK satisfies; a path (the SDK's folder in a checkout, or a tarball from
 * `npm pack`) for working against an unpublished SDK.
 */
export function scaffoldPlugin (name: string, dir: string, sdk?: string): string[] {
  if (!NAME_RE.test(name)) throw new ConfigError(`plugin name '${name}' must be lower-case letters, digits, '-' or '_'`)
  const target = resolve(dir, name)
  if (existsSync(target)) throw new ConfigError(`${target} already exists; choose another name or --dir`)
  let sdkDependency = `^${SDK_VERSION}`
  if (sdk !== undefined) {
    const path = resolve(sdk)
    if (!existsSync(path)) throw new ConfigError(`--sdk ${sdk}: no such file or directory (give the SDK's folder or a tarball made by npm pack)`)
    // A checkout's sdk/ holds the package only once `npm run build` made it (npm install's quick build does not).
    if (statSync(path).isDirectory() && !existsSync(join(path, 'dist', 'index.js'))) throw new ConfigError(`--sdk ${sdk}: the SDK package is not built there; run \`npm run build\` in that checkout first`)
    sdkDependency = `file:${path}`
  }
  const files: Record<string, string> = {
    'package.json': `${JSON.stringify({
      name: `tollgate-plugin-${name}`,
      version: '0.1.0',
      type: 'module',
      main: 'dist/index.js',
      scripts: { test: 'node --import tsx --test index.test.ts', build: 'tsc' },
      dependencies: { '@tollgate/sdk': sdkDependency },
      devDependencies: { tsx: '^4', typescript: '^5', '@types/node': '^20' },
    }, null, 2)}\n`,
    'tsconfig.json': `${JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: true, outDir: 'dist', declaration: true },
      include: ['index.ts'],
    }, null, 2)}\n`,
    'index.ts': `import { Type, definePlugin } from '@tollgate/sdk'

export const schema = Type.Object({
  header: Type.String({ default: 'x-${name}', description: 'Header added to the upstream request' }),
  value: Type.String({ default: 'hello', description: 'Its value' }),
}, { additionalProperties: false })

export default definePlugin({
  name: '${name}',
  version: '0.1.0',
  priority: 800,
  sdk: '^${SDK_VERSION}',
  schema,
  access (kong, conf) {
    kong.service.request.setHeader(conf.header, conf.value)
  },
})
`,
    'index.test.ts': `import assert from 'node:assert/strict'
import { test } from 'node:test'
import { runPlugin } from '@tollgate/sdk'
import plugin from './index.ts'

test('adds the configured header upstream', async () => {
  const result = await runPlugin(plugin, { config: { value: 'world' }, request: { path: '/anything' } })
  assert.equal(result.error, undefined)
  assert.equal(result.upstream?.headers['x-${name}'], 'world')
})
`,
    'README.md': `# ${name}

A Tollgate plugin.

    npm install
    npm test          # runs index.test.ts against the real PDK (the SDK's test kit)
    npm run build     # compiles to dist/index.js

Load it by adding its path to Tollgate's \`plugins\` setting (\`plugins = bundled, ${join(target, 'dist', 'index.js')}\`),
enable it with \`curl -X POST http://127.0.0.1:8001/plugins --data name=${name}\`, and run it
isolated in worker threads with \`isolated_plugins = ${name}\`.
`,
  }
  try {
    makeDirectory(target)
    for (const [file, text] of Object.entries(files)) writeFileSync(join(target, file), text)
  } catch (err) {
    throw new ConfigError(`cannot write the plugin to ${target}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; choose a writable --dir`)
  }
  return Object.keys(files).map((f) => join(target, f))
}
