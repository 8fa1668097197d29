import t from 'tap'
import { describeConfig, loadConfig } from '../../../core/config/index.js'

t.test("GET /'s configuration never shows pg_password, as Kong's", async (t) => {
  const config = loadConfig({ env: {}, overrides: { database: 'postgres', pg_password: 's3cret' } })
  const shown = describeConfig(config)
  t.equal(shown.pg_password, '******')
  t.notMatch(JSON.stringify(shown), /s3cret/)
  t.equal(config.pg_password, 's3cret', 'the node itself still has it')
  t.equal(describeConfig(loadConfig({ env: {} })).pg_password, '', 'no password: nothing to hide')
})
