// Making a directory and its missing parents, one level at a time.
//
// Not mkdirSync(path, { recursive: true }): node 20's recursive mkdir never returns when
// a filesystem answers mkdir with ENOENT although the parent exists (/proc, /sys on
// Linux). It goes back to the parent, finds it there, and tries the child again, for
// ever. `tollgate start --prefix /proc/x` and `tollgate plugin init x --dir /proc` hung
// without a word instead of saying the directory cannot be made.

import { mkdirSync, statSync, type Stats } from 'node:fs'
import { dirname, resolve } from 'node:path'

/**
 * Like `mkdir -p`: makes `path` and any missing parents (each with `mode`, if given).
 * Throws the system's error (ENOENT, EACCES, ENOTDIR...) when one cannot be made, and
 * ENOTDIR when something other than a directory is in the way.
 */
export function makeDirectory (path: string, mode?: number): void {
  const missing: string[] = []
  let dir = resolve(path)
  for (;;) {
    let found: Stats | undefined
    try {
      found = statSync(dir)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
    if (found !== undefined) {
      if (!found.isDirectory()) throw notADirectory(dir)
      break
    }
    missing.push(dir)
    const parent = dirname(dir)
    if (parent === dir) break
    dir = parent
  }
  for (const d of missing.reverse()) {
    try {
      mkdirSync(d, mode === undefined ? undefined : { mode })
    } catch (err) {
      // Made meanwhile by another process of the node (cluster workers start together).
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      if (!statSync(d).isDirectory()) throw notADirectory(d)
    }
  }
}

const notADirectory = (path: string): Error => Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${path}'`), { code: 'ENOTDIR', path })
