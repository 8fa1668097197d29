import { spawn, type ChildProcess } from 'node:child_process'
import { connect } from 'node:net'
import { request } from 'undici'
import { fileURLToPath } from 'node:url'
import type { Test } from 'tap'

export const BIN = fileURLToPath(new URL('../../bin/tollgate.js', import.meta.url))

/** Environment for a child gateway: the parent's, minus any TOLLGATE_* leaking in. */
export function childEnv (extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('TOLLGATE_')) env[k] = v
  // Tollgate Manager's default ports are fixed (8002, 8445): concurrent test gateways would
  // collide on them. The Manager's own tests ask for it on port 0.
  return { ...env, TOLLGATE_ADMIN_GUI_LISTEN: 'off', ...extra }
}

export interface Exit { code: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string }

/** Runs `cmd args` to completion, killed (and rejected) after `timeoutMs`. `env` is the whole environment. */
export function runCommand (cmd: string, args: string[], opts: { cwd?: string, env?: NodeJS.ProcessEnv, timeoutMs?: number } = {}): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${cmd} ${args.join(' ')} did not exit: ${stdout}${stderr}`)) }, opts.timeoutMs ?? 60_000)
    child.on('exit', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr }) })
  })
}

/** Runs `tollgate ...args` to completion (bounded by `timeoutMs`). */
export function runCli (args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<Exit> {
  return runCommand(process.execPath, [BIN, ...args], { env: childEnv(env), timeoutMs })
}

export interface Running {
  child: ChildProcess
  proxy: string
  admin: string
  /** The Status API, when status_listen is on. */
  status: string | undefined
  output: () => string
  exited: Promise<Exit>
}

/**
 * Starts `tollgate start` and resolves once it logged its bound addresses. Killed at test end.
 * `bin`: another install's bin/tollgate.js (the packed gateway's), run from `cwd`.
 */
export function startGateway (t: Test, args: string[], env: Record<string, string> = {}, opts: { bin?: string, cwd?: string } = {}): Promise<Running> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [opts.bin ?? BIN, 'start', ...args], {
      env: childEnv({ TOLLGATE_PROXY_LISTEN: '127.0.0.1:0', TOLLGATE_ADMIN_LISTEN: '127.0.0.1:0', TOLLGATE_LOG_LEVEL: 'info', ...env }),
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: opts.cwd,
    })
    let stdout = ''
    let stderr = ''
    let started = false
    const exited = new Promise<Exit>((resolveExit) => {
      child.on('exit', (code, signal) => {
        resolveExit({ code, signal, stdout, stderr })
        if (!started) reject(new Error(`tollgate exited before starting (${code ?? signal}): ${stderr}${stdout}`))
      })
    })
    t.teardown(async () => {
      if (child.exitCode === null && child.signalCode === null) { child.kill('SIGKILL'); await exited }
    })
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`tollgate did not start: ${stdout}${stderr}`)) }, 60_000)
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString()
      if (started) return
      for (const line of stdout.split('\n')) {
        if (!line.includes('"tollgate started"')) continue
        const msg = JSON.parse(line) as { proxy: string[], admin: string[], status?: string[] }
        started = true
        clearTimeout(timer)
        resolve({
          child,
          proxy: `http://${msg.proxy[0] as string}`,
          admin: `http://${msg.admin[0] as string}`,
          status: msg.status?.[0] === undefined ? undefined : `http://${msg.status[0]}`,
          output: () => stdout + stderr,
          exited,
        })
        return
      }
    })
  })
}

/**
 * Whether a fresh connection to `url` is refused: the listener there is closed (a gateway
 * that began shutting down stops accepting before it drains). A connection that is
 * accepted (or reset mid-way) counts as not refused; it is closed at once.
 */
export function refused (url: string): Promise<boolean> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve) => {
    const s = connect(Number(port), hostname)
    s.once('connect', () => { s.destroy(); resolve(false) })
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'))
  })
}

/** An Admin API call with a form body, as Kong's guides' curl commands send them. */
export async function form (url: string, method: string, fields: Record<string, string> = {}): Promise<{ status: number, body: any }> {
  const res = await request(url, {
    method: method as 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  })
  const text = await res.body.text()
  return { status: res.statusCode, body: text === '' ? undefined : JSON.parse(text) }
}
