// The self-signed default certificate a TLS listener serves when nothing else applies (no
// SNI, no matching `snis` row, no `ssl_cert`). Kong generates an RSA and an ECDSA pair into
// its prefix at first start; so does Tollgate. node:crypto makes keys and signatures but no
// certificates, and the libraries that do pull in a reflect-metadata polyfill or a pure-JS
// RSA stack for what is one fixed structure: a few DER lengths and tags, written here.

import { createHash, generateKeyPairSync, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto'

/** DER: tag, definite length, contents. */
function der (tag: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts)
  const n = body.length
  let len: Buffer
  if (n < 0x80) len = Buffer.from([n])
  else if (n < 0x100) len = Buffer.from([0x81, n])
  else if (n < 0x10000) len = Buffer.from([0x82, n >> 8, n & 0xff])
  else len = Buffer.from([0x83, n >> 16, (n >> 8) & 0xff, n & 0xff])
  return Buffer.concat([Buffer.from([tag]), len, body])
}

const seq = (...parts: Buffer[]): Buffer => der(0x30, ...parts)
const set = (...parts: Buffer[]): Buffer => der(0x31, ...parts)
const utf8 = (s: string): Buffer => der(0x0c, Buffer.from(s, 'utf8'))
const bitString = (b: Buffer): Buffer => der(0x03, Buffer.from([0]), b)
const octets = (b: Buffer): Buffer => der(0x04, b)
const NULL = Buffer.from([0x05, 0x00])

function oid (dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number) as [number, number, ...number[]]
  const bytes = [a * 40 + b]
  for (const v of rest) {
    const chunk = [v & 0x7f]
    for (let x = Math.floor(v / 128); x > 0; x = Math.floor(x / 128)) chunk.unshift((x & 0x7f) | 0x80)
    bytes.push(...chunk)
  }
  return der(0x06, Buffer.from(bytes))
}

/** Positive INTEGER from big-endian bytes. */
function integer (b: Buffer): Buffer {
  let i = 0
  while (i < b.length - 1 && b[i] === 0) i++
  const v = b.subarray(i)
  return der(0x02, (v[0] as number) & 0x80 ? Buffer.concat([Buffer.from([0]), v]) : v)
}

/** UTCTime through 2049, GeneralizedTime after, as RFC 5280 requires. */
function time (d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z'
  return d.getUTCFullYear() < 2050 ? der(0x17, Buffer.from(iso.slice(2))) : der(0x18, Buffer.from(iso))
}

const name = (cn: string): Buffer => seq(
  set(seq(oid('2.5.4.6'), der(0x13, Buffer.from('US')))),
  set(seq(oid('2.5.4.10'), utf8('Tollgate'))),
  set(seq(oid('2.5.4.3'), utf8(cn))),
)

export type KeyType = 'rsa' | 'ecdsa'

export interface PemPair { cert: string, key: string }

/**
 * A self-signed certificate for `cn` (also its one DNS subjectAltName), valid from a day
 * ago for `years`: RSA 2048 with SHA-256, or ECDSA P-256 with SHA-256, as Kong's defaults.
 */
export function selfSigned (type: KeyType, cn = 'localhost', years = 10): PemPair {
  const { publicKey, privateKey } = type === 'rsa'
    ? generateKeyPairSync('rsa', { modulusLength: 2048 })
    : generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  const algorithm = type === 'rsa'
    ? seq(oid('1.2.840.113549.1.1.11'), NULL) // sha256WithRSAEncryption
    : seq(oid('1.2.840.10045.4.3.2')) // ecdsa-with-SHA256
  const now = Date.now()
  const spki = publicKey.export({ type: 'spki', format: 'der' })
  const extensions = der(0xa3, seq(
    seq(oid('2.5.29.17'), octets(seq(der(0x82, Buffer.from(cn))))), // subjectAltName: dNSName
    seq(oid('2.5.29.19'), octets(seq())), // basicConstraints: not a CA
    seq(oid('2.5.29.14'), octets(octets(createHash('sha1').update(spki).digest()))), // subjectKeyIdentifier
  ))
  const serial = randomBytes(16)
  serial[0] = (serial[0] as number) & 0x7f
  const tbs = seq(
    der(0xa0, der(0x02, Buffer.from([2]))), // v3
    integer(serial),
    algorithm,
    name(cn),
    seq(time(new Date(now - 86_400_000)), time(new Date(now + years * 365 * 86_400_000))),
    name(cn),
    spki,
    extensions,
  )
  const signature = sign('sha256', tbs, privateKey as KeyObject)
  const certDer = seq(tbs, algorithm, bitString(signature))
  const cert = `-----BEGIN CERTIFICATE-----\n${certDer.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END CERTIFICATE-----\n`
  // Proves the encoding before anything serves it.
  if (!new X509Certificate(cert).checkPrivateKey(privateKey)) throw new Error('generated certificate does not match its key')
  return { cert, key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string }
}
