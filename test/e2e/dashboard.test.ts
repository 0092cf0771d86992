import assert from 'node:assert/strict'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createInterface } from 'node:readline'
import { spawn } from 'node:child_process'
import { chromium, type Browser, type Page } from 'playwright-core'
import { createMeshNode, type MeshNode } from '../../src/index.js'
import { MESH_BIN, rejectsWithCode, until } from '../helpers.js'
import { parsePrometheus } from '../prometheus.js'

const CHROMIUM = '/usr/bin/chromium'
const FIXTURES = fileURLToPath(new URL('../fixtures/dashboard-tasks.js', import.meta.url))
/** Screenshots go under the test output (dist/test-output/); `MESH_UPDATE_DOCS=1` also copies one to docs/. */
const OUTPUT = fileURLToPath(new URL('../../test-output/', import.meta.url)) // dist/test-output/
const DOCS_PNG = fileURLToPath(new URL('../../../docs/dashboard.png', import.meta.url))
const HOSTILE = '<img src=x onerror=alert(1)>'
const TOKEN = 'test-token-0123456789'

interface DashNode { peerId: string, addresses: string[], dashboard?: string, stop: () => Promise<void> }

async function startNode (args: string[]): Promise<DashNode> {
  const child = spawn(process.execPath, [MESH_BIN, 'node', '--json', '--no-mdns', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
  const exited = new Promise<void>((resolve) => { child.on('exit', () => { resolve() }) })
  const ready = await new Promise<{ peerId: string, addresses: string[], dashboard?: string }>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      try { const msg = JSON.parse(line); if (msg.event === 'ready') resolve(msg) } catch { /* not JSON */ }
    })
    void exited.then(() => { reject(new Error(`mesh node exited before ready: ${stderr}`)) })
  })
  return { ...ready, stop: async () => { if (child.exitCode === null) child.kill('SIGTERM'); await exited } }
}

describe('the dashboard in headless Chromium (Debian chromium driven by playwright-core)', function () {
  this.timeout(120_000)
  let a: DashNode
  let b: DashNode
  let client: MeshNode
  let browser: Browser
  let page: Page
  let dir: string
  const dialogs: string[] = []
  const foreign: string[] = []

  before(async function () {
    if (!existsSync(CHROMIUM)) this.skip() // .ci/run installs it: apt-get install chromium
    dir = mkdtempSync(join(tmpdir(), 'mesh-dashboard-'))
    const split = ['--split-threshold', '1', '--split-chunks', '8']
    a = await startNode(['--name', HOSTILE, '--serve', `add,matmul,${FIXTURES}`, '--workers', '1', '--key', join(dir, 'a.key'),
      '--dashboard', '127.0.0.1:0', '--dashboard-token', TOKEN, '--dashboard-history', join(dir, 'history.jsonl'), ...split])
    b = await startNode(['--name', 'beta', '--serve', 'add,matmul,factorial', '--workers', '1', '--bootstrap', ...a.addresses, ...split])
    client = await createMeshNode({ name: 'test-client', mdns: false, bootstrap: [...a.addresses, ...b.addresses] })
    await client.waitForPeers(2, 20_000)
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] })
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } })
    page.on('dialog', (d) => { dialogs.push(d.message()); void d.dismiss() })
    page.on('request', (r) => { if (!r.url().startsWith(a.dashboard!)) foreign.push(r.url()) })
  })

  after(async function () {
    await browser?.close()
    await client?.stop()
    await Promise.all([a?.stop(), b?.stop()])
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  })

  it('shows both nodes, the tasks and the finished jobs (calls and a split job), live', async function () {
    await page.goto(a.dashboard!)
    await page.waitForSelector('#live.live')
    for (let i = 0; i < 3; i++) assert.equal(await client.call('add', i, 10), i + 10)
    assert.equal(await client.call('factorial', 5), 120n) // only beta serves it
    const product = await client.call<{ rows: number }>('matmul', 120, 7)
    assert.equal(product.rows, 120)
    // Live: no reload; the page catches up through server-sent events.
    await until('three adds and the split matmul on the page', async () =>
      await page.locator('#jobs tr[data-state="succeeded"]').count() >= 5)
    const nodes = await page.locator('#nodes tbody').innerText()
    assert.ok(nodes.includes('beta'), nodes)
    assert.ok(nodes.includes(HOSTILE), 'the hostile name is shown as text')
    const tasks = await page.locator('#tasks tbody tr').evaluateAll(rows => rows.map(r => r.getAttribute('data-task')))
    for (const t of ['add', 'matmul', 'factorial', 'echo', 'fail', 'spin']) assert.ok(tasks.includes(t), `task ${t} in ${tasks.join(',')}`)
    const split = await page.locator('#jobs tr', { hasText: 'matmul' }).first().innerText()
    assert.match(split, /8\/8/, 'the split job shows its chunks done')
    const jobs = await page.locator('#jobs tbody').innerText()
    assert.match(jobs, /add/)
  })

  it('shows hostile arguments and error messages as text, runs no script, and loads nothing from outside', async function () {
    const arg = '<img src=x onerror=alert(2)><script>alert(3)</script>'
    assert.equal(await client.call('echo', arg), arg)
    await rejectsWithCode(client.call('fail', '<b onmouseover=alert(4)>boom</b>'), 'TASK_FAILED')
    await until('the echo and fail jobs on the page', async () =>
      (await page.locator('#jobs tbody').innerText()).includes('boom'))
    const text = await page.locator('#jobs tbody').innerText()
    assert.ok(text.includes('<img src=x onerror=alert(2)>'), 'argument as text')
    assert.ok(text.includes('<b onmouseover=alert(4)>boom</b>'), 'error message as text')
    assert.equal(await page.locator('img, script:not([src]), b').count(), 0, 'no markup from the wire became elements')
    assert.deepEqual(dialogs, [])
    assert.deepEqual(foreign, [])
  })

  it('filters jobs by task, state and node', async function () {
    await page.selectOption('#f-task', 'add')
    await until('only add jobs', async () => {
      const tasks = await page.locator('#jobs tbody tr td:nth-child(2)').allInnerTexts()
      return tasks.length === 3 && tasks.every(t => t === 'add')
    })
    await page.selectOption('#f-task', '')
    await page.selectOption('#f-state', 'failed')
    await until('only the failed job', async () => (await page.locator('#jobs tbody tr').count()) === 1)
    await page.selectOption('#f-state', '')
    await page.selectOption('#f-node', b.peerId)
    await until('only beta\'s jobs', async () => {
      const where = await page.locator('#jobs tbody tr td:nth-child(4)').allInnerTexts()
      const tasks = await page.locator('#jobs tbody tr td:nth-child(2)').allInnerTexts()
      return where.length > 0 && where.every(w => w === 'beta') && tasks.includes('factorial')
    })
    await page.selectOption('#f-node', '')
  })

  it('cancels a running job from the page with the token; without it: 401 and nothing changes', async function () {
    const job = client.submit('spin', [])
    const row = page.locator('#jobs tr[data-state="running"]', { hasText: 'spin' })
    await row.waitFor()
    const id = await row.getAttribute('data-job')
    const refused = await fetch(`${a.dashboard!}api/jobs/${id!}/cancel`, { method: 'POST' })
    assert.equal(refused.status, 401)
    const wrong = await fetch(`${a.dashboard!}api/jobs/${id!}/cancel`, { method: 'POST', headers: { authorization: 'Bearer not-the-token' } })
    assert.equal(wrong.status, 401)
    assert.equal(job.status === 'STARTED' || job.status === 'PROGRESS', true, `still running: ${job.status}`)
    await page.fill('#token', TOKEN)
    await row.locator('button', { hasText: 'cancel' }).click()
    await rejectsWithCode(job.result(), 'CANCELLED')
    await page.locator(`#jobs tr[data-job="${id!}"][data-state="cancelled"]`).waitFor()
    // The worker was terminated and replaced: the node still serves.
    assert.equal(await client.call('add', 1, 1), 2)
    mkdirSync(OUTPUT, { recursive: true })
    await page.screenshot({ path: join(OUTPUT, 'dashboard.png'), fullPage: true })
    if (process.env.MESH_UPDATE_DOCS === '1') copyFileSync(join(OUTPUT, 'dashboard.png'), DOCS_PNG)
  })

  it('/metrics parses as Prometheus text and counts the calls made', async function () {
    const scrape = async (): Promise<Map<string, number>> => parsePrometheus(await (await fetch(`${a.dashboard!}metrics`)).text())
    const echoes = (m: Map<string, number>): number => m.get('mesh_calls_total{outcome="succeeded",task="echo"}') ?? 0
    const before = await scrape()
    for (let i = 0; i < 3; i++) await client.call('echo', 'x')
    const metrics = await scrape()
    assert.equal(echoes(metrics), echoes(before) + 3)
    assert.equal(metrics.get('mesh_call_duration_seconds_count{task="echo"}'), echoes(before) + 3)
    assert.equal(metrics.get('mesh_calls_total{outcome="cancelled",task="spin"}'), 1)
    assert.equal(metrics.get('mesh_calls_total{outcome="failed",task="fail"}'), 1)
    assert.ok([...metrics.keys()].some(k => k.startsWith('libp2p_data_transfer_bytes_total')), 'libp2p\'s own metrics too')
  })

  it('keeps recent jobs across a restart of the dashboard\'s node', async function () {
    const before = await (await fetch(`${a.dashboard!}api/jobs?state=succeeded`)).json() as Array<{ id: string }>
    assert.ok(before.length > 0)
    await a.stop()
    a = await startNode(['--name', 'alpha-again', '--serve', 'add', '--key', join(dir, 'a.key'), '--dashboard', '127.0.0.1:0', '--dashboard-history', join(dir, 'history.jsonl')])
    const after = await (await fetch(`${a.dashboard!}api/jobs?state=succeeded`)).json() as Array<{ id: string }>
    for (const job of before) assert.ok(after.some(j => j.id === job.id), `job ${job.id} kept`)
    assert.equal((await fetch(`${a.dashboard!}api/nodes/${a.peerId}/drain`, { method: 'POST' })).status, 401, 'read-only without a token')
  })
})
