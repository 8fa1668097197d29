// Every public PDK function carries an @phases tag, and the tag says what its check allows:
// both come from the one table in core/pdk/private/phases.ts. Kong tags every PDK function
// the same way (its docs are generated from those tags); here a tag that drifts from the
// table fails this test, which prints the line to write.
import { readFileSync } from 'node:fs'
import t from 'tap'
import ts from 'typescript'
import { PHASES, type PhaseRule } from '../../../core/pdk/private/phases.js'
import { phaseList } from '../../../core/runtime/phases.js'

// The type that documents each namespace: the class itself, or the interface a namespace
// made of closures implements.
const DOCUMENTED: [file: string, type: string, rules: Record<string, PhaseRule>][] = [
  ['request.ts', 'KongRequest', PHASES.request],
  ['response.ts', 'KongResponse', PHASES.response],
  ['client.ts', 'KongClient', PHASES.client],
  ['service.ts', 'KongService', PHASES.service],
  ['service-request.ts', 'KongServiceRequest', PHASES.serviceRequest],
  ['service-response.ts', 'KongServiceResponse', PHASES.serviceResponse],
  ['log.ts', 'KongLog', PHASES.log],
  ['router.ts', 'KongRouter', PHASES.router],
  ['db.ts', 'KongDb', PHASES.db],
  ['node.ts', 'KongNode', PHASES.node],
]

/** Public members of `type` in `file` with their @phases tag ('' names a call signature). */
function tagsOf (file: string, type: string): Map<string, string | undefined> {
  const path = new URL(`../../../core/pdk/${file}`, import.meta.url)
  const source = ts.createSourceFile(file, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true)
  let decl: ts.ClassDeclaration | ts.InterfaceDeclaration | undefined
  source.forEachChild((n) => {
    if ((ts.isClassDeclaration(n) || ts.isInterfaceDeclaration(n)) && n.name?.text === type) decl = n
  })
  if (decl === undefined) throw new Error(`no ${type} in core/pdk/${file}`)
  const out = new Map<string, string | undefined>()
  for (const member of decl.members as ts.NodeArray<ts.ClassElement | ts.TypeElement>) {
    let name: string
    if (ts.isCallSignatureDeclaration(member)) name = ''
    else if ((ts.isMethodDeclaration(member) || ts.isMethodSignature(member)) && ts.isIdentifier(member.name)) name = member.name.text
    else continue // constructors, fields and #private methods are not the PDK's surface
    const tag = ts.getJSDocTags(member).find((x) => x.tagName.text === 'phases')
    out.set(name, tag === undefined ? undefined : ts.getTextOfJSDocComment(tag.comment)?.trim())
  }
  return out
}

for (const [file, type, rules] of DOCUMENTED) {
  t.test(`${type} (core/pdk/${file})`, async (t) => {
    const tags = tagsOf(file, type)
    t.same([...tags.keys()].sort(), Object.keys(rules).sort(), 'its public members are the table\'s entries, no more, no fewer')
    for (const [name, rule] of Object.entries(rules)) {
      if (!tags.has(name)) continue
      t.equal(tags.get(name), phaseList(rule.mask), `${rule.fn}: @phases ${phaseList(rule.mask)}`)
    }
  })
}
