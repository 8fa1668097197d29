// XXH32 (seed 0) of a string's UTF-8 bytes, written from the published xxHash
// specification. Kong parity: consistent-hashing places ring points and request values
// with xxhash32 (kong/runloop/balancer/consistent_hashing.lua, via luaxxhash), so the same
// hash function keeps our ring built the way Kong's is.

const P1 = 0x9E3779B1
const P2 = 0x85EBCA77
const P3 = 0xC2B2AE3D
const P4 = 0x27D4EB2F
const P5 = 0x165667B1

// ASCII strings (the usual hash values: ids, IPs, paths) are copied into this scratch
// buffer, so hashing them allocates nothing.
let scratch = new Uint8Array(256)

function rotl (x: number, r: number): number {
  return (x << r) | (x >>> (32 - r))
}

function read32 (b: Uint8Array, i: number): number {
  return ((b[i] as number) | ((b[i + 1] as number) << 8) | ((b[i + 2] as number) << 16) | ((b[i + 3] as number) << 24))
}

function round (acc: number, input: number): number {
  acc = (acc + Math.imul(input, P2)) | 0
  return Math.imul(rotl(acc, 13), P1)
}

/** XXH32 of bytes `b[0..len)`, seed 0, as an unsigned 32-bit integer. */
export function xxhash32Bytes (b: Uint8Array, len: number = b.length): number {
  let i = 0
  let h: number
  if (len >= 16) {
    let v1 = (P1 + P2) | 0
    let v2 = P2
    let v3 = 0
    let v4 = -P1 | 0
    const limit = len - 16
    while (i <= limit) {
      v1 = round(v1, read32(b, i))
      v2 = round(v2, read32(b, i + 4))
      v3 = round(v3, read32(b, i + 8))
      v4 = round(v4, read32(b, i + 12))
      i += 16
    }
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0
  } else {
    h = P5
  }
  h = (h + len) | 0
  while (i + 4 <= len) {
    h = (h + Math.imul(read32(b, i), P3)) | 0
    h = Math.imul(rotl(h, 17), P4)
    i += 4
  }
  while (i < len) {
    h = (h + Math.imul(b[i] as number, P5)) | 0
    h = Math.imul(rotl(h, 11), P1)
    i++
  }
  h ^= h >>> 15
  h = Math.imul(h, P2)
  h ^= h >>> 13
  h = Math.imul(h, P3)
  h ^= h >>> 16
  return h >>> 0
}

/** XXH32 of the UTF-8 encoding of `s`, seed 0. */
export function xxhash32 (s: string): number {
  const n = s.length
  if (n > scratch.length) scratch = new Uint8Array(Math.max(n, scratch.length * 2))
  const b = scratch
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i)
    if (c > 0x7f) return xxhash32Bytes(new TextEncoder().encode(s))
    b[i] = c
  }
  return xxhash32Bytes(b, n)
}
