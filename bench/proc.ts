// What the benches read of their child processes through /proc (Linux): the process tree,
// to kill it whole, and the CPU time it used, to compare cost per request.

import { spawnSync } from 'node:child_process'
import { readFileSync, readdirSync } from 'node:fs'

/** Every process below `pid` (Linux; empty elsewhere). */
export function descendants (pid: number): number[] {
  const out: number[] = []
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const kids = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim()
      for (const kid of kids === '' ? [] : kids.split(' ').map(Number)) out.push(kid, ...descendants(kid))
    }
  } catch {}
  return out
}

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK']).stdout?.toString().trim()) || 100

/** CPU seconds (user + system, every thread) used so far by a process and its descendants. */
export function cpuSeconds (pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined
  const own = (p: number): number => {
    // Fields after the command name: state is 3rd, utime 14th, stime 15th of the whole line.
    const stat = readFileSync(`/proc/${p}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(f[11]) + Number(f[12])) / CLK_TCK
  }
  try {
    let total = own(pid)
    // A descendant that exits meanwhile counts nothing.
    for (const kid of descendants(pid)) { try { total += own(kid) } catch {} }
    return total
  } catch { return undefined }
}
