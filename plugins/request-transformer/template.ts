// Kong's request-transformer values may hold templates: `$(expr)` is replaced by the value
// of a Lua expression over `headers`, `query_params`, `uri_captures` and `shared` (Kong
// renders them with Penlight's pl.template in a read-only sandbox). Tollgate evaluates the
// part of Lua such expressions use, with Lua's semantics: literals (strings, numbers, nil,
// true, false), names, indexing (`a.b`, `a["b"]`, `a[1]`), calls of `type`, `not`, unary
// minus, `..`, arithmetic (+ - * / %), comparisons (== ~= < > <= >=), `and`, `or`.
// Anything else (other functions, assignment, table constructors) is refused when the config
// is written. Lua tables are JS objects or arrays (an array's index 1 is its first element).

type Value = string | number | boolean | undefined | Value[] | { [k: string]: Value } | ((...args: Value[]) => Value)

type Node =
  | { k: 'lit', v: Value }
  | { k: 'name', name: string }
  | { k: 'index', obj: Node, key: Node }
  | { k: 'call', fn: Node, args: Node[] }
  | { k: 'unary', op: string, e: Node }
  | { k: 'bin', op: string, l: Node, r: Node }

export type Env = Record<string, Value | (() => Value)>

type Token = { t: 'num', v: number } | { t: 'str', v: string } | { t: 'name', v: string } | { t: 'op', v: string }

const OPS = ['...', '..', '==', '~=', '<=', '>=', '(', ')', '[', ']', '.', '+', '-', '*', '/', '%', '<', '>', ',', '#']
const KEYWORDS = new Set(['and', 'or', 'not', 'nil', 'true', 'false'])

function tokenize (src: string): Token[] {
  const out: Token[] = []
  let i = 0
  while (i < src.length) {
    const c = src[i] as string
    if (/\s/.test(c)) { i++; continue }
    if (c === '"' || c === "'") {
      let s = ''
      i++
      while (i < src.length && src[i] !== c) {
        if (src[i] === '\\') {
          const e = src[i + 1]
          s += e === 'n' ? '\n' : e === 't' ? '\t' : e ?? ''
          i += 2
        } else s += src[i++]
      }
      if (i >= src.length) throw new Error('unfinished string')
      i++
      out.push({ t: 'str', v: s })
      continue
    }
    const num = /^(?:0x[0-9a-fA-F]+|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+)/.exec(src.slice(i))
    if (num !== null) { out.push({ t: 'num', v: Number(num[0]) }); i += num[0].length; continue }
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i))
    if (name !== null) { out.push({ t: 'name', v: name[0] }); i += name[0].length; continue }
    const op = OPS.find((o) => src.startsWith(o, i))
    if (op === undefined || op === '...' || op === '#') throw new Error(`unexpected symbol near '${c}'`)
    out.push({ t: 'op', v: op })
    i += op.length
  }
  return out
}

// Lua's precedence, lowest first; `..` is right-associative.
const BINARY: string[][] = [['or'], ['and'], ['<', '>', '<=', '>=', '~=', '=='], ['..'], ['+', '-'], ['*', '/', '%']]

function parse (src: string): Node {
  const toks = tokenize(src)
  let p = 0
  const peek = (): Token | undefined => toks[p]
  const isOp = (v: string): boolean => { const t = toks[p]; return t !== undefined && (t.t === 'op' || (t.t === 'name' && KEYWORDS.has(t.v))) && t.v === v }
  const expect = (v: string): void => { if (!isOp(v)) throw new Error(`'${v}' expected`); p++ }

  function binary (level: number): Node {
    if (level === BINARY.length) return unary()
    let l = binary(level + 1)
    for (;;) {
      const op = (BINARY[level] as string[]).find(isOp)
      if (op === undefined) return l
      p++
      const r = op === '..' ? binary(level) : binary(level + 1)
      l = { k: 'bin', op, l, r }
    }
  }
  function unary (): Node {
    if (isOp('not') || isOp('-')) { const op = (toks[p++] as Token).v as string; return { k: 'unary', op, e: unary() } }
    return postfix()
  }
  function postfix (): Node {
    let e = primary()
    for (;;) {
      if (isOp('.')) {
        p++
        const t = toks[p++]
        if (t?.t !== 'name') throw new Error("<name> expected near '.'")
        e = { k: 'index', obj: e, key: { k: 'lit', v: t.v } }
      } else if (isOp('[')) {
        p++
        const key = binary(0)
        expect(']')
        e = { k: 'index', obj: e, key }
      } else if (isOp('(')) {
        p++
        const args: Node[] = []
        if (!isOp(')')) {
          args.push(binary(0))
          while (isOp(',')) { p++; args.push(binary(0)) }
        }
        expect(')')
        e = { k: 'call', fn: e, args }
      } else return e
    }
  }
  function primary (): Node {
    const t = peek()
    if (t === undefined) throw new Error('unexpected end of expression')
    p++
    if (t.t === 'num' || t.t === 'str') return { k: 'lit', v: t.v }
    if (t.t === 'op' && t.v === '(') { const e = binary(0); expect(')'); return e }
    if (t.t === 'name') {
      if (t.v === 'nil') return { k: 'lit', v: undefined }
      if (t.v === 'true' || t.v === 'false') return { k: 'lit', v: t.v === 'true' }
      if (!KEYWORDS.has(t.v)) return { k: 'name', name: t.v }
    }
    throw new Error(`unexpected symbol near '${String(t.v)}'`)
  }
  const e = binary(0)
  if (p !== toks.length) throw new Error(`unexpected symbol near '${String((toks[p] as Token).v)}'`)
  return e
}

const truthy = (v: Value): boolean => v !== undefined && v !== false

function luaType (v: Value): string {
  if (v === undefined) return 'nil'
  if (typeof v === 'object') return 'table'
  return typeof v === 'function' ? 'function' : typeof v
}

function toNumber (v: Value, op: string): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v.trim()) : NaN
  if (Number.isNaN(n)) throw new Error(`attempt to perform arithmetic (${op}) on a ${luaType(v)} value`)
  return n
}

function luaString (v: Value, what: string): string {
  if (typeof v === 'string') return v
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(v)
  throw new Error(`attempt to ${what} a ${luaType(v)} value`)
}

/**
 * Marks a table whose string keys are found whatever their case, `_` standing for `-`: the
 * request headers, as nginx's get_headers table finds them.
 */
export const CASELESS = Symbol('caseless')

function index (obj: Value, key: Value): Value {
  if (obj === undefined || typeof obj !== 'object') throw new Error(`attempt to index a ${luaType(obj)} value`)
  if (Array.isArray(obj)) return typeof key === 'number' && Number.isInteger(key) && key >= 1 ? obj[key - 1] : undefined
  const k = typeof key === 'number' || typeof key === 'string' ? String(key) : undefined
  if (k === undefined) return undefined
  if (Object.hasOwn(obj, k)) return obj[k]
  const n = k.toLowerCase().replaceAll('_', '-')
  return (obj as Record<symbol, unknown>)[CASELESS] === true && Object.hasOwn(obj, n) ? obj[n] : undefined
}

function evaluate (n: Node, env: (name: string) => Value): Value {
  switch (n.k) {
    case 'lit': return n.v
    case 'name': return env(n.name)
    case 'index': return index(evaluate(n.obj, env), evaluate(n.key, env))
    case 'call': {
      const fn = evaluate(n.fn, env)
      if (typeof fn !== 'function') throw new Error(`attempt to call a ${luaType(fn)} value`)
      return fn(...n.args.map((a) => evaluate(a, env)))
    }
    case 'unary': {
      const v = evaluate(n.e, env)
      return n.op === 'not' ? !truthy(v) : -toNumber(v, 'unm')
    }
    case 'bin': {
      if (n.op === 'and') { const l = evaluate(n.l, env); return truthy(l) ? evaluate(n.r, env) : l }
      if (n.op === 'or') { const l = evaluate(n.l, env); return truthy(l) ? l : evaluate(n.r, env) }
      const l = evaluate(n.l, env)
      const r = evaluate(n.r, env)
      switch (n.op) {
        case '==': return l === r
        case '~=': return l !== r
        case '..': return luaString(l, 'concatenate') + luaString(r, 'concatenate')
        case '+': return toNumber(l, 'add') + toNumber(r, 'add')
        case '-': return toNumber(l, 'sub') - toNumber(r, 'sub')
        case '*': return toNumber(l, 'mul') * toNumber(r, 'mul')
        case '/': return toNumber(l, 'div') / toNumber(r, 'div')
        case '%': { const a = toNumber(l, 'mod'); const b = toNumber(r, 'mod'); return a - Math.floor(a / b) * b }
        default: {
          if (typeof l !== typeof r || (typeof l !== 'number' && typeof l !== 'string')) throw new Error(`attempt to compare ${luaType(l)} with ${luaType(r)}`)
          const a = l as number | string
          const b = r as number | string
          return n.op === '<' ? a < b : n.op === '>' ? a > b : n.op === '<=' ? a <= b : a >= b
        }
      }
    }
  }
}

/** A compiled template: text pieces and expressions, in order. */
export type Template = Array<string | Node>

/** Splits `$(expr)` out of a value; throws with the reason when an expression does not parse. */
export function compile (src: string): Template {
  const out: Template = []
  let text = ''
  let i = 0
  while (i < src.length) {
    if (src[i] === '$' && src[i + 1] === '(') {
      // The expression ends at the matching parenthesis, strings skipped.
      let depth = 1
      let j = i + 2
      let quote: string | undefined
      for (; j < src.length && depth > 0; j++) {
        const c = src[j]
        if (quote !== undefined) { if (c === '\\') j++; else if (c === quote) quote = undefined } else if (c === '"' || c === "'") quote = c
        else if (c === '(') depth++
        else if (c === ')') depth--
      }
      if (depth > 0) throw new Error("unfinished '$(' expression")
      if (text !== '') out.push(text)
      text = ''
      out.push(parse(src.slice(i + 2, j - 1)))
      i = j
    } else text += src[i++]
  }
  if (text !== '') out.push(text)
  return out
}

function show (v: Value): string {
  if (v === undefined) return ''
  if (typeof v === 'string') return v
  if (typeof v === 'number' || typeof v === 'boolean') return String(v)
  throw new Error(`cannot render a ${luaType(v)} value`)
}

/** Renders with lazily loaded values: a loader runs once, the first time its name is used. */
export function render (tpl: Template, env: Env): string {
  const lookup = (name: string): Value => {
    if (name === 'type') return (v: Value) => luaType(v)
    if (!Object.hasOwn(env, name)) return undefined
    let v = env[name]
    if (typeof v === 'function' && v.length === 0) { v = (v as () => Value)(); env[name] = v }
    return v as Value
  }
  return tpl.map((piece) => (typeof piece === 'string' ? piece : show(evaluate(piece, lookup)))).join('')
}

const cache = new Map<string, Template>()

/** compile, cached: configs are few and their values are rendered on every request. */
export function compiled (src: string): Template {
  let t = cache.get(src)
  if (t === undefined) {
    t = compile(src)
    if (cache.size > 10_000) cache.clear()
    cache.set(src, t)
  }
  return t
}

/** Whether a value has an expression at all (most are plain text). */
export const isPlain = (t: Template): boolean => t.every((p) => typeof p === 'string')
