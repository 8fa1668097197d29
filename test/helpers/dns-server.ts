// A tiny authoritative DNS server on 127.0.0.1 (UDP) for tests: A and AAAA answers with
// the TTLs a test sets, NXDOMAIN, SERVFAIL, or silence (a timeout). Point a node
// `dns.promises.Resolver` at it with `setServers([server.address])`.
import { createSocket } from 'node:dgram'
import type { AddressInfo } from 'node:net'
import { Resolver } from 'node:dns/promises'
import type { Test } from 'tap'

export type Rr = { ip: string, ttl: number }
/** What the server says for a name: its records, or a failure. */
export type DnsEntry = { A?: Rr[], AAAA?: Rr[] } | 'nxdomain' | 'servfail' | 'drop'

export interface TestDnsServer {
  /** `127.0.0.1:port`, for Resolver.setServers. */
  address: string
  /** Sets (or with undefined, removes: NXDOMAIN) what the server answers for `name`. */
  set (name: string, entry: DnsEntry | undefined): void
  /** Every question asked so far, `name TYPE`. */
  queries: string[]
  /** When each of `queries` arrived (Date.now()). */
  askedAt: number[]
  /** A Resolver pointed at this server: one try, `timeoutMs` per try. */
  resolver (timeoutMs?: number): Resolver
}

const TYPE_A = 1
const TYPE_AAAA = 28

export async function startDnsServer (t: Test, zone: Record<string, DnsEntry> = {}): Promise<TestDnsServer> {
  const names = new Map<string, DnsEntry>(Object.entries(zone).map(([k, v]) => [k.toLowerCase(), v]))
  const queries: string[] = []
  const askedAt: number[] = []
  const socket = createSocket('udp4')
  socket.on('message', (msg, rinfo) => {
    const q = parseQuestion(msg)
    if (q === undefined) return
    queries.push(`${q.name} ${q.type === TYPE_A ? 'A' : q.type === TYPE_AAAA ? 'AAAA' : q.type}`)
    askedAt.push(Date.now())
    const entry = names.get(q.name.toLowerCase()) ?? 'nxdomain'
    if (entry === 'drop') return
    let rcode = 0
    let answers: Rr[] = []
    if (entry === 'nxdomain') rcode = 3
    else if (entry === 'servfail') rcode = 2
    else answers = (q.type === TYPE_A ? entry.A : q.type === TYPE_AAAA ? entry.AAAA : undefined) ?? []
    socket.send(answer(msg, q.end, q.type, rcode, answers), rinfo.port, rinfo.address)
  })
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => socket.close(() => resolve())))
  const address = `127.0.0.1:${(socket.address() as AddressInfo).port}`
  return {
    address,
    queries,
    askedAt,
    set (name, entry) {
      if (entry === undefined) names.delete(name.toLowerCase()); else names.set(name.toLowerCase(), entry)
    },
    resolver (timeoutMs = 300) {
      const r = new Resolver({ timeout: timeoutMs, tries: 1 })
      r.setServers([address])
      return r
    },
  }
}

function parseQuestion (msg: Buffer): { name: string, type: number, end: number } | undefined {
  if (msg.length < 12 || msg.readUInt16BE(4) < 1) return undefined
  const labels: string[] = []
  let i = 12
  while (i < msg.length) {
    const len = msg[i] as number
    if (len === 0) { i++; break }
    if (len > 63) return undefined
    labels.push(msg.toString('latin1', i + 1, i + 1 + len))
    i += 1 + len
  }
  if (i + 4 > msg.length) return undefined
  return { name: labels.join('.'), type: msg.readUInt16BE(i), end: i + 4 }
}

function answer (query: Buffer, questionEnd: number, type: number, rcode: number, rrs: Rr[]): Buffer {
  const header = Buffer.alloc(12)
  header.writeUInt16BE(query.readUInt16BE(0), 0) // id
  // QR, the query's opcode and RD, AA, RA, rcode.
  header.writeUInt16BE(0x8000 | (query.readUInt16BE(2) & 0x7900) | 0x0400 | 0x0080 | rcode, 2)
  header.writeUInt16BE(1, 4)
  header.writeUInt16BE(rrs.length, 6)
  const parts = [header, query.subarray(12, questionEnd)]
  for (const rr of rrs) {
    const data = type === TYPE_A ? Buffer.from(rr.ip.split('.').map(Number)) : ipv6Bytes(rr.ip)
    const fixed = Buffer.alloc(12)
    fixed.writeUInt16BE(0xc00c, 0) // name: pointer to the question's
    fixed.writeUInt16BE(type, 2)
    fixed.writeUInt16BE(1, 4) // IN
    fixed.writeUInt32BE(rr.ttl, 6)
    fixed.writeUInt16BE(data.length, 10)
    parts.push(fixed, data)
  }
  return Buffer.concat(parts)
}

function ipv6Bytes (ip: string): Buffer {
  const [head = '', tail] = ip.split('::')
  const h = head === '' ? [] : head.split(':')
  const tl = tail === undefined || tail === '' ? [] : tail.split(':')
  const groups = [...h, ...Array<string>(8 - h.length - tl.length).fill('0'), ...tl]
  const out = Buffer.alloc(16)
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2))
  return out
}
