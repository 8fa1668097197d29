// `tollgate start` refuses to serve an unauthenticated Admin API beyond loopback.
import t from 'tap'
import { runCli } from '../../helpers/process.js'
import { tempDir } from '../../helpers/store.js'

t.test('admin_listen 0.0.0.0 without a token: exit 1 with the reason, nothing started', async (t) => {
  const r = await runCli(['start', '--prefix', tempDir(t)], { TOLLGATE_PROXY_LISTEN: '127.0.0.1:0', TOLLGATE_ADMIN_LISTEN: '0.0.0.0:0' })
  t.equal(r.code, 1)
  t.match(r.stderr, /^Error: admin_listen 0\.0\.0\.0:0 is not a loopback address and no admin token is set: set 'admin_token' \(or 'admin_token_file'\).*admin_allow_unauthenticated = on.*\n$/)
})
