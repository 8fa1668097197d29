// multipart/form-data bodies kept part by part, so that parts the config does not name (file
// uploads among them) go upstream byte for byte: Kong's `multipart` library's get, delete,
// set_simple and tostring.

interface Part { name: string | undefined, raw: string }

export class Multipart {
  readonly boundary: string
  parts: Part[] = []

  constructor (body: Buffer, boundary: string) {
    this.boundary = boundary
    // latin1 keeps every byte as one character and back.
    const text = body.toString('latin1')
    const pieces = text.split(`--${boundary}`)
    for (const piece of pieces.slice(1)) {
      if (piece.startsWith('--')) break
      const raw = piece.replace(/^\r\n/, '').replace(/\r\n$/, '')
      const head = raw.slice(0, Math.max(raw.indexOf('\r\n\r\n'), 0))
      this.parts.push({ name: /content-disposition:[^\r\n]*;\s*name="([^"]*)"/i.exec(head)?.[1], raw })
    }
  }

  /** The value of the first part named `name` (utf-8), or undefined. */
  get (name: string): string | undefined {
    const part = this.parts.find((p) => p.name === name)
    if (part === undefined) return undefined
    const sep = part.raw.indexOf('\r\n\r\n')
    return Buffer.from(sep === -1 ? '' : part.raw.slice(sep + 4), 'latin1').toString('utf8')
  }

  delete (name: string): void { this.parts = this.parts.filter((p) => p.name !== name) }

  /** Replaces the parts named `name` with one simple field (Kong's set_simple). */
  setSimple (name: string, value: string): void {
    const raw = `Content-Disposition: form-data; name="${name}"\r\n\r\n${Buffer.from(value, 'utf8').toString('latin1')}`
    const i = this.parts.findIndex((p) => p.name === name)
    if (i === -1) this.parts.push({ name, raw })
    else this.parts.splice(i, 1, { name, raw })
  }

  toBuffer (): Buffer {
    const b = this.boundary
    return Buffer.from(this.parts.map((p) => `--${b}\r\n${p.raw}\r\n`).join('') + `--${b}--\r\n`, 'latin1')
  }
}

export function boundaryOf (contentType: string): string | undefined {
  const m = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType)
  return m?.[1] ?? m?.[2]
}
