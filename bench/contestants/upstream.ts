// The benchmark upstream when nginx is not installed: a tiny node:http server that answers
// every request with the same small JSON body. Usage: upstream.ts PORT [ADDRESSES]
// ADDRESSES: listen on 127.0.0.1 and the next loopback addresses up to that many
// (127.0.0.2, ..., 127.0.1.1, ...), the targets of balanced contestants.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'

const body = Buffer.from('{"hello":"world"}')
const port = Number(process.argv[2])
const addresses = Number(process.argv[3] ?? '1')
const handler = (req: IncomingMessage, res: ServerResponse): void => {
  req.resume()
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length })
  res.end(body)
}
let pending = addresses
for (let i = 0; i < addresses; i++) {
  createServer(handler).listen(port, `127.0.${Math.floor(i / 250)}.${(i % 250) + 1}`, () => { if (--pending === 0) process.stdout.write('ready\n') })
}
