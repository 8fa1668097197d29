// Kong's spec/03-plugins/16-jwt/01-jwt_parser_spec.lua, "Decoding", "verify signature" and
// "verify registered claims", against plugins/jwt/parser.ts. Not ported: "Encoding" (Kong's
// jwt_parser.encode is a signer Tollgate does not ship; the tests' own is fixtures.ts) and
// "throws an error if not given a string" (the type system rules it out).
import { compactVerify } from 'jose'
import t from 'tap'
import { decodeToken, verifyRegisteredClaims, verifySignature } from '../../../plugins/jwt/parser.js'
import { encode, es256, es384, rs256, rs384, rs512 } from './fixtures.js'

const now = (): number => Math.floor(Date.now() / 1000)

t.test('Decoding', async (t) => {
  // it("refuses invalid alg")
  t.equal(decodeToken(encode({ sub: '1234' }, 'secret', 'HS256', { typ: 'JWT', alg: 'foo' })), 'invalid alg')
  // it("accepts a valid encoding request"), ("... with lowercase TYP"), ("... with missing TYP")
  for (const header of [{ typ: 'JWT', alg: 'RS256' }, { typ: 'jwt', alg: 'RS256' }, { alg: 'RS256' }]) {
    t.match(decodeToken(encode({ sub: '1234' }, 'secret', 'HS256', header)), { header, claims: { sub: '1234' } }, JSON.stringify(header))
  }
  t.equal(decodeToken('only.two'), 'invalid JSON')
  t.equal(decodeToken('a.b.c'), 'invalid JSON')
  t.equal(decodeToken(`${Buffer.from('[1]').toString('base64url')}.${Buffer.from('{}').toString('base64url')}.x`), 'invalid JSON', 'a header that is not an object')
})

t.test('verify signature', async (t) => {
  // it("using HS256"), ("using HS384"), ("using HS512")
  for (const alg of ['HS256', 'HS384', 'HS512'] as const) {
    const token = encode({ sub: 'foo' }, 'secret', alg)
    t.ok(await verifySignature(token, alg, 'secret'), alg)
    t.notOk(await verifySignature(token, alg, 'invalid'), alg)
  }
  // it("using RS256"), ("using RS384"), ("using RS512")
  for (const [alg, right, wrong] of [['RS256', rs256, rs384], ['RS384', rs384, rs512], ['RS512', rs512, rs256]] as const) {
    const token = encode({ sub: 'foo' }, right.privateKey, alg)
    t.ok(await verifySignature(token, alg, right.publicPem), alg)
    t.notOk(await verifySignature(token, alg, wrong.publicPem), alg)
  }
  // it("using ES256"), ("using ES384"): 500 tokens each, as the spec (ECDSA signatures vary)
  for (const [alg, pair] of [['ES256', es256], ['ES384', es384]] as const) {
    let good = 0
    let bad = 0
    for (let i = 0; i < 500; i++) {
      const token = encode({ sub: 'foo' }, pair.privateKey, alg)
      if (await verifySignature(token, alg, pair.publicPem)) good++
      if (await verifySignature(token, alg, rs256.publicPem)) bad++
    }
    t.same([good, bad], [500, 0], alg)
  }
  t.notOk(await verifySignature(encode({ sub: 'foo' }, 'secret'), 'RS256', 'not a key'), 'an unloadable key verifies nothing')
})

t.test('HS* signatures: the synchronous HMAC path answers as jose does', async (t) => {
  // verifySignature checks plainly formed HS* tokens with node:crypto and leaves the rest
  // to jose; every token here must get jose's own answer either way.
  const good = encode({ sub: 'foo' }, 'secret')
  const [h, p, s] = good.split('.') as [string, string, string]
  const flip = (x: string): string => `${x.slice(0, -1)}${x.endsWith('A') ? 'B' : 'A'}`
  const tokens: Array<[string, string]> = [
    ['valid', good],
    ['another alg in the header', encode({ sub: 'foo' }, 'secret', 'HS384')],
    ['a tampered payload', `${h}.${flip(p)}.${s}`],
    ['a tampered signature', `${h}.${p}.${flip(s)}`],
    ['a truncated signature', `${h}.${p}.${s.slice(0, 20)}`],
    ['an empty signature', `${h}.${p}.`],
    ['padded base64', `${h}.${p}.${s}=`],
    ['four parts', `${good}.x`],
    ['crit in the header', encode({ sub: 'foo' }, 'secret', 'HS256', { alg: 'HS256', crit: ['exp'] })],
    ['b64 false', encode({ sub: 'foo' }, 'secret', 'HS256', { alg: 'HS256', b64: false, crit: ['b64'] })],
  ]
  for (const [what, token] of tokens) {
    for (const secret of ['secret', 'other', '']) {
      const jose = await compactVerify(token, Buffer.from(secret), { algorithms: ['HS256'] }).then(() => true, () => false)
      t.equal(await verifySignature(token, 'HS256', secret), jose, `${what}, secret '${secret}': ${String(jose)}`)
    }
  }
})

t.test('verify registered claims', async (t) => {
  // it("requires claims passed as arguments")
  t.same(verifyRegisteredClaims({ sub: 'foo' }, ['exp', 'nbf']), { exp: 'must be a number', nbf: 'must be a number' })
  t.same(verifyRegisteredClaims({ sub: 'foo' }, ['nbf']), { nbf: 'must be a number' })
  // it("checks the type of given registered claims")
  t.same(verifyRegisteredClaims({ exp: 'bar', nbf: 'foo' }, ['exp', 'nbf']), { exp: 'must be a number', nbf: 'must be a number' })
  // it("checks the exp claim"), it("checks the nbf claim")
  t.same(verifyRegisteredClaims({ exp: now() - 10 }, ['exp']), { exp: 'token expired' })
  t.same(verifyRegisteredClaims({ nbf: now() + 10 }, ['nbf']), { nbf: 'token not valid yet' })
  t.equal(verifyRegisteredClaims({ exp: now() + 10, nbf: now() - 10 }, ['exp', 'nbf']), undefined)
  t.equal(verifyRegisteredClaims({}, []), undefined)
})
