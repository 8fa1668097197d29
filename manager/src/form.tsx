// A create/edit form generated from a Kong schema: records become fieldsets, arrays and sets
// of scalars comma-separated inputs, booleans checkboxes, one_of selects, foreign keys an id
// or name input. Every input is labelled by its field's dotted path (`config.minute`), and
// the server's error for a field shows after it (role="alert", linked by aria-describedby).
import { useEffect, useMemo, useRef, useState } from 'preact/hooks'
import type { ComponentChildren } from 'preact'
import { api, ApiError, errorMessage } from './api.js'
import { fieldList, flatErrors, initialValues, toPayload, widget, AUTO_FIELDS, type Field, type FieldSchema, type Values } from './schema.js'

interface Errors { message: string, fields: Record<string, string>, entity: Record<string, string[]> }

const NONE: Errors = { message: '', fields: {}, entity: {} }

export interface SchemaFormProps {
  fields: Field[]
  /** The entity being edited; absent for a create. */
  entity?: Record<string, any>
  /** A create's starting values, beyond the schema's defaults. */
  defaults?: Record<string, any>
  /** Field names not shown (a credential's consumer, say). */
  omit?: string[]
  /** Sends the body; throws an ApiError on refusal. */
  submit: (body: Record<string, unknown>) => Promise<void>
  cancel?: () => void
  /** Inputs shown before the generated ones (a plugin's name). */
  before?: ComponentChildren
  /** Adjusts the body before it is sent. */
  transform?: (body: Record<string, unknown>, values: Values) => Record<string, unknown>
  title?: string
}

export function SchemaForm (props: SchemaFormProps): preact.JSX.Element {
  const fields = useMemo(() => props.fields.filter(([n]) => !AUTO_FIELDS.has(n) && !(props.omit ?? []).includes(n)), [props.fields, props.omit])
  const initial = useMemo(() => initialValues(fields, props.entity ?? props.defaults), [fields, props.entity, props.defaults])
  const [values, setValues] = useState<Values>(initial)
  const [errors, setErrors] = useState<Errors>(NONE)
  const [busy, setBusy] = useState(false)
  const formRef = useRef<HTMLFormElement>(null)
  useEffect(() => { setValues(initial); setErrors(NONE) }, [initial])

  const set = (path: string, v: string | boolean): void => setValues((old) => ({ ...old, [path]: v }))

  async function onSubmit (e: Event): Promise<void> {
    e.preventDefault()
    setBusy(true)
    setErrors(NONE)
    try {
      let body = toPayload(fields, values, props.entity === undefined ? undefined : initial)
      if (props.transform !== undefined) body = props.transform(body, values)
      await props.submit(body)
    } catch (err) {
      if (err instanceof ApiError) {
        const flat = flatErrors(err.body.fields ?? {})
        const shown = Object.keys(flat.fields).length > 0 || Object.keys(flat.entity).length > 0
        setErrors({ message: shown && err.body.name === 'schema violation' ? '' : err.message, ...flat })
      } else {
        setErrors({ ...NONE, message: errorMessage(err) })
      }
      // Once shown: focus the first field in error, or else the form's message.
      setTimeout(() => {
        const form = formRef.current
        if (form === null) return
        const target = form.querySelector<HTMLElement>('[aria-invalid="true"]') ?? form.querySelector<HTMLElement>('.form-errors')
        target?.focus()
      }, 0)
    } finally {
      setBusy(false)
    }
  }

  const top = [...(errors.entity[''] ?? [])]
  // Entity checks inside records whose fieldset is not shown land at the top too.
  const hasMessage = errors.message !== '' || top.length > 0
  return (
    <form ref={formRef} class="schema-form" onSubmit={onSubmit} noValidate aria-label={props.title}>
      <div class="form-errors" role="alert" tabIndex={-1} aria-live="assertive">
        {hasMessage && (
          <div class="alert alert-error">
            {errors.message !== '' && <p>{errors.message}</p>}
            {top.map((m) => <p key={m}>{m}</p>)}
          </div>
        )}
      </div>
      {props.before}
      {fields.map(([name, s]) => <FieldInput key={name} name={name} path={name} schema={s} values={values} set={set} errors={errors} />)}
      <div class="form-actions">
        <button type="submit" class="btn btn-primary" disabled={busy}>Save</button>
        {props.cancel !== undefined && <button type="button" class="btn" onClick={props.cancel}>Cancel</button>}
      </div>
    </form>
  )
}

const idFor = (path: string): string => `f-${path.replace(/[^A-Za-z0-9_-]/g, '_')}`

interface FieldProps { name: string, path: string, schema: FieldSchema, values: Values, set: (path: string, v: string | boolean) => void, errors: Errors }

function FieldInput ({ name, path, schema, values, set, errors }: FieldProps): preact.JSX.Element {
  const w = widget(schema)
  if (w === 'record') {
    const entityErrors = errors.entity[path] ?? []
    return (
      <fieldset class="record">
        <legend>{path}</legend>
        {entityErrors.length > 0 && <div class="alert alert-error" role="alert">{entityErrors.map((m) => <p key={m}>{m}</p>)}</div>}
        {fieldList(schema.fields).map(([n, s]) => <FieldInput key={n} name={n} path={`${path}.${n}`} schema={s} values={values} set={set} errors={errors} />)}
      </fieldset>
    )
  }
  const id = idFor(path)
  const err = errors.fields[path]
  if (w === 'checks') return <Checks path={path} id={id} schema={schema} value={typeof values[path] === 'string' ? values[path] as string : ''} set={set} err={err} />
  const hint = hintFor(schema, w)
  const described = [hint !== '' ? `${id}-hint` : '', err !== undefined ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined
  const common = { id, name: path, 'aria-describedby': described, 'aria-invalid': err !== undefined ? 'true' as const : undefined }
  const v = values[path]
  const text = typeof v === 'string' ? v : ''
  let input: preact.JSX.Element
  switch (w) {
    case 'checkbox':
      input = <input type="checkbox" {...common} checked={v === true} onChange={(e) => set(path, (e.currentTarget as HTMLInputElement).checked)} />
      break
    case 'select':
      input = (
        <select {...common} value={text} onChange={(e) => set(path, (e.currentTarget as HTMLSelectElement).value)}>
          {(schema.required !== true || schema.default === undefined) && <option value="">—</option>}
          {(schema.one_of ?? (schema.type === 'boolean' ? [true, false] : [])).map((o) => <option key={String(o)} value={String(o)}>{String(o)}</option>)}
        </select>
      )
      break
    case 'json': case 'textarea':
      input = <textarea {...common} rows={w === 'json' ? 4 : 6} spellcheck={false} value={text} onInput={(e) => set(path, (e.currentTarget as HTMLTextAreaElement).value)} />
      break
    case 'foreign':
      input = <ForeignInput common={common} reference={schema.reference ?? ''} value={text} onValue={(x) => set(path, x)} />
      break
    default:
      input = <input type={w === 'number' ? 'text' : 'text'} inputMode={w === 'number' ? 'decimal' : undefined} {...common} value={text} onInput={(e) => set(path, (e.currentTarget as HTMLInputElement).value)} />
  }
  return (
    <div class={`field field-${w}${err !== undefined ? ' has-error' : ''}`}>
      {w === 'checkbox'
        ? <div class="check">{input}<label for={id}>{path}</label></div>
        : <><label for={id}>{path}</label>{input}</>}
      {hint !== '' && <small id={`${id}-hint`} class="hint">{hint}</small>}
      {err !== undefined && <p id={`${id}-error`} class="field-error" role="alert">{err}</p>}
    </div>
  )
}

/** A set of known values: a fieldset named by the field, one checkbox per value. */
function Checks ({ path, id, schema, value, set, err }: { path: string, id: string, schema: FieldSchema, value: string, set: (path: string, v: string) => void, err: string | undefined }): preact.JSX.Element {
  const chosen = value.split(',').map((x) => x.trim()).filter((x) => x !== '')
  const all = (schema.elements?.one_of ?? []).map(String)
  const toggle = (v: string, on: boolean): void => {
    const next = on ? [...chosen, v] : chosen.filter((x) => x !== v)
    set(path, all.filter((x) => next.includes(x)).join(', '))
  }
  const hint = schema.description ?? ''
  const described = [hint !== '' ? `${id}-hint` : '', err !== undefined ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined
  return (
    <fieldset class={`field field-checks${err !== undefined ? ' has-error' : ''}`} id={id} aria-describedby={described} aria-invalid={err !== undefined ? 'true' : undefined}>
      <legend>{path}</legend>
      <div class="checks">
        {all.map((v) => (
          <label key={v} class="check">
            <input type="checkbox" name={path} value={v} checked={chosen.includes(v)} onChange={(e) => toggle(v, (e.currentTarget as HTMLInputElement).checked)} />
            {v}
          </label>
        ))}
      </div>
      {hint !== '' && <small id={`${id}-hint`} class="hint">{hint}</small>}
      {err !== undefined && <p id={`${id}-error`} class="field-error" role="alert">{err}</p>}
    </fieldset>
  )
}

function hintFor (s: FieldSchema, w: string): string {
  const parts: string[] = []
  if (s.required === true && s.default === undefined && s.type !== 'boolean') parts.push('Required')
  if (s.description !== undefined) parts.push(s.description)
  if (w === 'list') parts.push(s.elements?.one_of !== undefined ? `Comma-separated: ${s.elements.one_of.join(', ')}` : 'Comma-separated')
  if (w === 'json') parts.push('JSON')
  if (w === 'foreign') parts.push(`Id or name of one of the ${s.reference ?? ''}`)
  return parts.join('. ')
}

const options = new Map<string, Promise<string[]>>()

/** An id-or-name input, with the referenced entities' names offered as a datalist. */
function ForeignInput ({ common, reference, value, onValue }: { common: Record<string, unknown>, reference: string, value: string, onValue: (v: string) => void }): preact.JSX.Element {
  const [names, setNames] = useState<string[]>([])
  useEffect(() => {
    if (reference === '') return
    let p = options.get(reference)
    if (p === undefined) {
      p = api<{ data: Array<Record<string, any>> }>('GET', `/${reference}?size=100`)
        .then((page) => page.data.map((e) => String(e.name ?? e.username ?? e.id)))
        .catch(() => [])
      options.set(reference, p)
      setTimeout(() => options.delete(reference), 5000)
    }
    void p.then(setNames)
  }, [reference])
  const listId = `${String(common.id)}-options`
  return (
    <>
      <input type="text" {...common} list={listId} value={value} onInput={(e) => onValue((e.currentTarget as HTMLInputElement).value)} />
      <datalist id={listId}>{names.map((n) => <option key={n} value={n} />)}</datalist>
    </>
  )
}
