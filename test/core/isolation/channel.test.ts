// The shared-memory mailbox between the pool and a worker thread (core/isolation/channel.ts),
// with a real thread on the other end: batches in, answers out, the two ways the host learns
// of an answer (looking, and being woken), and what does not fit.
import { Worker } from 'node:worker_threads'
import t, { type Test } from 'tap'
import { Channel, IN_BYTES, OUT_BYTES } from '../../../core/isolation/channel.js'
import { until } from '../../helpers/gateway.js'

// The thread runs the compiled channel (threads do not get tsx's loader; see pool.ts). It
// echoes each batch's JSON back upper-cased, answers "by message" for JSON holding "post",
// and holds its answer until told to go on for JSON holding "hold".
const THREAD = `
import { parentPort, workerData } from 'node:worker_threads'
const { Channel } = await import(workerData.module)
const channel = new Channel(workerData.buffer)
let held
parentPort.on('message', (m) => { if (m === 'go' && held !== undefined) { held(); held = undefined } })
channel.listen((b) => {
  const answer = () => {
    if (b.json.includes('post')) { channel.reply(b.id, undefined); parentPort.postMessage({ id: b.id, version: b.version, reset: b.reset }) }
    else if (!channel.reply(b.id, b.json.toUpperCase())) parentPort.postMessage({ tooBig: b.id })
  }
  if (b.json.includes('hold')) { held = answer; parentPort.postMessage('holding') } else answer()
})
parentPort.postMessage('ready')
`

async function thread (t: Test): Promise<{ channel: Channel, worker: Worker, messages: unknown[] }> {
  const channel = new Channel()
  const module = new URL('../../../dist/core/isolation/channel.js', import.meta.url).href
  const worker = new Worker(THREAD, { eval: true, workerData: { module, buffer: channel.buffer } })
  const messages: unknown[] = []
  worker.on('message', (m) => messages.push(m))
  t.teardown(() => worker.terminate())
  await until(() => messages.includes('ready'), 'the thread to start')
  return { channel, worker, messages }
}

t.test('batches in, answers out, found by looking or by a wake-up', async (t) => {
  const { channel, worker, messages } = await thread(t)
  t.notOk(channel.ready, 'nothing to take before any batch')
  t.equal(channel.answer(), undefined)

  // Looking: the host does not wait, so the thread wakes no one; the answer is there to find.
  t.ok(channel.send({ id: 1, version: 7, reset: false, json: '["résumé","日本"]' }))
  await until(() => channel.ready, 'the first answer')
  t.same(channel.answer(), { id: 1, json: '["RÉSUMÉ","日本"]' }, 'UTF-8 both ways')
  t.notOk(channel.ready, 'an answer is taken once')

  // Waiting: held until the host waits, so the wake-up is what delivers it.
  t.ok(channel.send({ id: 2 ** 40, version: 2 ** 45, reset: true, json: '"hold"' }))
  await until(() => messages.includes('holding'), 'the thread to hold its answer')
  const woken = new Promise<void>((resolve) => channel.wait(resolve))
  worker.postMessage('go')
  await woken
  t.same(channel.answer(), { id: 2 ** 40, json: '"HOLD"' }, 'ids past 32 bits survive')

  // Waiting for an answer already written settles at once.
  t.ok(channel.send({ id: 3, version: 1, reset: false, json: '"three"' }))
  await until(() => channel.ready, 'the third answer')
  await new Promise<void>((resolve) => channel.wait(resolve))
  t.same(channel.answer(), { id: 3, json: '"THREE"' })

  // An answer that goes by message: the mailbox says so, and holds no stale answer.
  t.ok(channel.send({ id: 4, version: 9, reset: true, json: '"post"' }))
  await new Promise<void>((resolve) => channel.wait(resolve))
  t.equal(channel.answer(), undefined, 'the mailbox has no answer for it')
  await until(() => messages.some((m) => (m as { id?: number }).id === 4), 'the answer by message')
  t.same(messages.find((m) => (m as { id?: number }).id === 4), { id: 4, version: 9, reset: true }, 'the batch arrived whole: id, version, reset')

  // Many in a row: each answered once, in order.
  for (let id = 10; id < 200; id++) {
    t.ok(channel.send({ id, version: 1, reset: false, json: `"n${id}"` }))
    await until(() => channel.ready, `answer ${id}`)
    const a = channel.answer()
    if (a?.id !== id || a.json !== `"N${id}"`) t.fail(`batch ${id} answered ${JSON.stringify(a)}`)
  }
})

t.test('rouse and poll: an idle thread woken ahead of its batch, the host watching for the answer', async (t) => {
  const { channel } = await thread(t)
  t.notOk(channel.poll(1000), 'no answer to watch for before any batch')
  // Only a thread waiting on its mailbox is roused; it is, once started.
  await until(() => channel.rouse(), 'the thread to wait on its mailbox')
  t.ok(channel.send({ id: 1, version: 1, reset: false, json: '"roused"' }))
  t.ok(channel.poll(5_000_000), 'the answer arrives while the host watches')
  t.same(channel.answer(), { id: 1, json: '"ROUSED"' })

  // Rouses with no batch after them: the thread watches a while, then waits again, and the
  // next batch is still taken.
  await until(() => channel.rouse(), 'the thread to wait again')
  t.notOk(channel.poll(1000), 'nothing answered without a batch')
  await until(() => channel.rouse(), 'the roused thread to wait again')
  t.ok(channel.send({ id: 2, version: 1, reset: false, json: '"later"' }))
  await until(() => channel.ready, 'the later answer')
  t.same(channel.answer(), { id: 2, json: '"LATER"' })
})

t.test('what does not fit is refused, and the mailbox stays usable', async (t) => {
  const { channel, messages } = await thread(t)
  t.notOk(channel.send({ id: 1, version: 1, reset: false, json: `"${'x'.repeat(IN_BYTES)}"` }), 'a batch over the area is refused (it goes by message)')
  // Multi-byte text under the area in UTF-16 units but over it in UTF-8 bytes.
  t.notOk(channel.send({ id: 2, version: 1, reset: false, json: `"${'é'.repeat(IN_BYTES / 2)}"` }), 'measured in UTF-8 bytes')
  // An answer over its area: the thread is told, and says so by message.
  t.ok(channel.send({ id: 3, version: 1, reset: false, json: `"${'y'.repeat(OUT_BYTES)}"` }))
  await until(() => messages.some((m) => (m as { tooBig?: number }).tooBig === 3), 'word of the answer too big')
  await new Promise<void>((resolve) => channel.wait(resolve))
  t.equal(channel.answer(), undefined, 'no answer in the mailbox for it')
  t.ok(channel.send({ id: 4, version: 1, reset: false, json: '"ok"' }))
  await new Promise<void>((resolve) => channel.wait(resolve))
  t.same(channel.answer(), { id: 4, json: '"OK"' }, 'the next batch goes through')
})

t.test('abandoning a dropped thread\'s mailbox releases a wait on it', async (t) => {
  const { channel } = await thread(t)
  t.ok(channel.send({ id: 1, version: 1, reset: false, json: '"hold"' }))
  const released = new Promise<void>((resolve) => channel.wait(resolve))
  channel.abandon()
  await released
  t.equal(channel.answer(), undefined, 'with no answer in it')
})
