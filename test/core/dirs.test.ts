import { statSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import t from 'tap'
import { makeDirectory } from '../../core/dirs.js'
import { tempDir } from '../helpers/store.js'

t.test('makeDirectory makes missing parents, with the mode given, and leaves existing ones', async (t) => {
  const dir = tempDir(t)
  const deep = join(dir, 'a', 'b', 'c')
  makeDirectory(deep, 0o700)
  t.ok(statSync(deep).isDirectory())
  t.equal(statSync(join(dir, 'a')).mode & 0o777, 0o700, 'each level made gets the mode')
  makeDirectory(deep)
  makeDirectory(dir)
  t.ok(statSync(deep).isDirectory(), 'an existing directory is no error')
  makeDirectory(relative(process.cwd(), join(dir, 'd')))
  t.ok(statSync(join(dir, 'd')).isDirectory(), 'a relative path resolves from the working directory')
})

t.test('makeDirectory throws what is in the way', async (t) => {
  const dir = tempDir(t)
  const file = join(dir, 'file')
  writeFileSync(file, '')
  t.throws(() => makeDirectory(file), { code: 'ENOTDIR' }, 'a file where the directory should be')
  t.throws(() => makeDirectory(join(file, 'sub', 'deeper')), { code: 'ENOTDIR' }, 'a file among the parents')
})

// node 20's mkdirSync(path, { recursive: true }) never returns here (see core/dirs.ts).
t.test('a directory the filesystem will not make is an error, not a hang', { skip: process.platform === 'linux' ? false : 'needs /proc (Linux)' }, async (t) => {
  t.throws(() => makeDirectory('/proc/tollgate-test/deeper'), { code: 'ENOENT' })
  t.throws(() => makeDirectory('/proc/tollgate-test'), { code: 'ENOENT' })
})
