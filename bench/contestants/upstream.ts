// The benchmark upstream when nginx is not installed: a tiny node:http server that answers
// every request with the same small JSON body. Usage: upstream.ts PORT
import { createServer } from 'node:http'

const body = Buffer.from('{"hello":"world"}')
const port = Number(process.argv[2])
createServer((req, res) => {
  req.resume()
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length })
  res.end(body)
}).listen(port, '127.0.0.1', () => process.stdout.write('ready\n'))
