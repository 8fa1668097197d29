// Kong's "Rate Limiting" getting-started guide (chapter 3 of Get Started), command for
// command: form bodies as its curl commands send them, against `tollgate start` run the
// way the README runs it, in a child process with its own prefix. The guide's mock
// service is replaced by a local echo upstream; its `for ... sleep 1` loop is six
// requests in a row.
import t from 'tap'
import { guideGet as get, servicesAndRoutes, type GuideAnswer } from '../helpers/get-started.js'
import { form } from '../helpers/process.js'

const waitUntil = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms - Date.now())))

/**
 * `n` requests in a row, all inside one fresh fixed window of `periodMs` (UTC-aligned, as
 * the plugin's windows are). Kong's guide does not care where in the minute it runs; a
 * test that counts exactly does: when the window would end during the burst, or did, the
 * burst starts over at the beginning of a window none of its requests touched.
 */
async function inOneWindow (periodMs: number, n: number, send: () => Promise<GuideAnswer>): Promise<GuideAnswer[]> {
  // A minute's burst needs a few seconds at most even on a loaded machine.
  const margin = Math.min(periodMs / 2, 5000)
  for (;;) {
    const now = Date.now()
    const window = Math.floor(now / periodMs)
    if ((window + 1) * periodMs - now < margin) { await waitUntil((window + 1) * periodMs); continue }
    const out: GuideAnswer[] = []
    for (let i = 0; i < n; i++) out.push(await send())
    if (Math.floor(Date.now() / periodMs) === window) return out
    // The burst crossed into the next window, which now holds some of its requests: start
    // again in the one after.
    await waitUntil((window + 2) * periodMs)
  }
}

t.test('the Rate Limiting guide', async (t) => {
  // Prerequisite: the Services and Routes chapter.
  const { gw, mock } = await servicesAndRoutes(t)
  const A = gw.admin
  let r: Awaited<ReturnType<typeof form>>

  /** The guide's validation: six requests in a minute, the sixth refused. */
  const sixInAMinute = async (scope: string): Promise<void> => {
    const answers = await inOneWindow(60_000, 6, () => get(mock))
    t.same(answers.map((a) => a.status), [200, 200, 200, 200, 200, 429], `${scope}: five pass, the sixth is refused`)
    t.same(answers.map((a) => a.headers['x-ratelimit-remaining-minute']), ['4', '3', '2', '1', '0', '0'], `${scope}: remaining counts down`)
    const sixth = answers[5] as GuideAnswer
    t.equal(sixth.body.message, 'API rate limit exceeded', `${scope}: Kong's message`)
    t.equal(sixth.headers['x-ratelimit-limit-minute'], '5')
    t.ok(Number(sixth.headers['retry-after']) >= 1 && Number(sixth.headers['retry-after']) <= 60, `${scope}: Retry-After within the minute`)
  }

  // Global rate limiting.
  r = await form(`${A}/plugins`, 'POST', { name: 'rate-limiting', 'config.minute': '5', 'config.policy': 'local' })
  t.equal(r.status, 201)
  t.same([r.body.name, r.body.enabled, r.body.config.minute, r.body.config.policy], ['rate-limiting', true, 5, 'local'])
  t.match(r.body.id, /^[0-9a-f-]{36}$/)
  await sixInAMinute('global')
  t.equal((await form(`${A}/plugins/${r.body.id as string}`, 'DELETE')).status, 204)
  t.equal((await get(mock)).status, 200, 'the limit is gone with the plugin')

  // Service level rate limiting: the same request, posted to the service.
  r = await form(`${A}/services/example_service/plugins`, 'POST', { name: 'rate-limiting', 'config.minute': '5', 'config.policy': 'local' })
  t.equal(r.status, 201)
  t.equal(r.body.service.id, (await get(`${A}/services/example_service`)).body.id)
  await sixInAMinute('service')
  t.equal((await form(`${A}/plugins/${r.body.id as string}`, 'DELETE')).status, 204)

  // Route level rate limiting.
  r = await form(`${A}/routes/example_route/plugins`, 'POST', { name: 'rate-limiting', 'config.minute': '5', 'config.policy': 'local' })
  t.equal(r.status, 201)
  t.equal(r.body.route.id, (await get(`${A}/routes/example_route`)).body.id)
  await sixInAMinute('route')
  t.equal((await form(`${A}/plugins/${r.body.id as string}`, 'DELETE')).status, 204)

  // Consumer level rate limiting: the guide's consumer, referenced by username.
  r = await form(`${A}/consumers/`, 'POST', { username: 'jsmith' })
  t.same([r.status, r.body.username], [201, 'jsmith'])
  const consumerId = r.body.id as string
  r = await form(`${A}/plugins`, 'POST', { name: 'rate-limiting', 'consumer.username': 'jsmith', 'config.second': '5' })
  t.equal(r.status, 201)
  t.same(r.body.consumer, { id: consumerId }, 'consumer.username resolves to the consumer')
  // A consumer-scoped plugin applies once a consumer is identified: the key-auth chapter's
  // set-up identifies jsmith by an API key.
  t.equal((await form(`${A}/consumers/jsmith/key-auth`, 'POST', { key: 'jsmith-key' })).status, 201)
  t.equal((await form(`${A}/plugins/`, 'POST', { name: 'key-auth', 'config.key_names': 'apikey' })).status, 201)
  const answers = await inOneWindow(1000, 6, () => get(mock, { apikey: 'jsmith-key' }))
  t.same(answers.map((a) => a.status), [200, 200, 200, 200, 200, 429], 'jsmith: five a second')
  t.equal(answers[0]?.headers['x-ratelimit-limit-second'], '5')
  t.equal(answers[0]?.body.headers['x-consumer-username'], 'jsmith', 'the upstream sees the consumer')

  gw.child.kill('SIGTERM')
  t.equal((await gw.exited).code, 0)
})
