import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const DIR = fileURLToPath(new URL('../fixtures/tls/', import.meta.url))

/** A PEM file of test/fixtures/tls (see its README.txt), e.g. `pem('a-rsa-cert')`. */
export function pem (stem: string): string {
  return readFileSync(`${DIR}${stem}.pem`, 'utf8')
}

/** The certificate and key of a fixture pair, as a certificates body: `pair('a-rsa')`. */
export function pair (stem: string): { cert: string, key: string } {
  return { cert: pem(`${stem}-cert`), key: pem(`${stem}-key`) }
}
