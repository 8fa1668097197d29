// Addresses and CIDR ranges as numbers, for ip-restriction's lists: Kong's typedefs.ip_or_cidr
// (what the schema accepts) and resty.ipmatcher (what matches). IPv4 and IPv6 are apart: an
// IPv6 range never matches an IPv4 client, as in ipmatcher.

import { isIPv4, isIPv6 } from 'node:net'

/** A range: family, network bits of the address, prefix length. */
export interface Range { v6: boolean, net: bigint, bits: number }

function v4ToBig (ip: string): bigint {
  return ip.split('.').reduce((n, part) => (n << 8n) | BigInt(Number(part)), 0n)
}

function v6ToBig (ip: string): bigint {
  let s = ip
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two groups.
  const dot = s.lastIndexOf(':')
  if (s.includes('.')) {
    const v4 = v4ToBig(s.slice(dot + 1))
    s = `${s.slice(0, dot + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`
  }
  const [head, tail] = s.includes('::') ? s.split('::') as [string, string] : [s, undefined]
  const h = head === '' ? [] : head.split(':')
  const t = tail === undefined || tail === '' ? [] : tail.split(':')
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t]
  return groups.reduce((n, g) => (n << 16n) | BigInt(parseInt(g, 16)), 0n)
}

/** The client address as a /32 or /128; IPv4-mapped IPv6 (::ffff:a.b.c.d) counts as IPv4. */
export function parseAddress (ip: string): Range | undefined {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)
  if (mapped !== null) return { v6: false, net: v4ToBig(mapped[1] as string), bits: 32 }
  if (isIPv4(ip)) return { v6: false, net: v4ToBig(ip), bits: 32 }
  if (isIPv6(ip)) return { v6: true, net: v6ToBig(ip), bits: 128 }
  return undefined
}

/** An address or CIDR range as Kong's ip_or_cidr accepts it, or undefined. */
export function parseRange (entry: string): Range | undefined {
  const slash = entry.indexOf('/')
  if (slash === -1) {
    if (isIPv4(entry)) return { v6: false, net: v4ToBig(entry), bits: 32 }
    if (isIPv6(entry)) return { v6: true, net: v6ToBig(entry), bits: 128 }
    return undefined
  }
  const addr = entry.slice(0, slash)
  const mask = entry.slice(slash + 1)
  if (!/^\d{1,3}$/.test(mask)) return undefined
  const bits = Number(mask)
  if (isIPv4(addr) && bits <= 32) return { v6: false, net: v4ToBig(addr), bits }
  if (isIPv6(addr) && bits <= 128) return { v6: true, net: v6ToBig(addr), bits }
  return undefined
}

/** Whether `addr` is inside `range` (host bits of the range's address are ignored, as in ipmatcher). */
export function contains (range: Range, addr: Range): boolean {
  if (range.v6 !== addr.v6) return false
  const shift = BigInt((range.v6 ? 128 : 32) - range.bits)
  return (range.net >> shift) === (addr.net >> shift)
}
