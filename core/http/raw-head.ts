// For sockets no ServerResponse owns: an upgrade's answer, a request node's parser refused.

type Headers = Record<string, string | string[] | undefined>

/** An HTTP/1.1 response head as raw text, for a socket no ServerResponse owns. */
export function rawHead (status: number, reason: string, headers: Headers): string {
  const lines = [`HTTP/1.1 ${status} ${reason}`]
  for (const name in headers) {
    const value = headers[name] as string | string[]
    for (const v of Array.isArray(value) ? value : [value]) if (v !== undefined) lines.push(`${name}: ${v}`)
  }
  return `${lines.join('\r\n')}\r\n\r\n`
}
