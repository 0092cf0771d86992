import { Command, Option } from 'commander'
import { DEFAULT_CALL_TIMEOUT_MS } from '../constants.js'
import { BadArgumentError, ConfigError, MeshError, NON_MESH_ERROR_LABEL } from '../errors.js'
import { nonNegativeInt, positiveInt } from './args.js'
import { parseEta } from '../workflows/delays.js'
import { parseInterval } from '../workflows/schedule-spec.js'


/** Options every command that joins the mesh as a client shares. */
function clientOptions (command: Command): Command {
  return command
    .option('--timeout <ms>', 'bound discovery and the call, in milliseconds', positiveInt('--timeout'), DEFAULT_CALL_TIMEOUT_MS)
    .option('--bootstrap <multiaddr...>', 'dial these peers directly (for networks mDNS does not reach)')
    .option('--no-mdns', 'do not discover peers by mDNS')
    .option('--dht', 'look tasks up in the mesh DHT too (meshes that mDNS and record relaying do not span; see docs/dht.md)', false)
    .option('--key <file>', 'persistent identity key file (created if missing)')
    .option('--psk <file>', 'pre-shared mesh key file for a private mesh (default: $MESH_PSK_FILE)')
    .option('--json', 'print a machine-readable JSON envelope', false)
}

export function buildProgram (): Command {
  const program = new Command('mesh')
    .description('A zero-broker, peer-to-peer compute mesh: no broker, no name server.')
    .version('0.1.0')
    .showHelpAfterError()

  program.command('node')
    .description('run a node that joins the mesh and serves tasks, until SIGINT/SIGTERM')
    .option('--serve <tasks>', 'tasks to serve: built-ins (add,factorial,matmul) and/or module paths (./my-tasks.js), comma-separated')
    .option('--expose <modules>', 'objects to expose: module paths (./examples/greeting/greeter.js), comma-separated; see docs/objects.md')
    .option('--name <name>', 'a human name shown in mesh ls and mesh peers')
    .option('--listen <multiaddr...>', 'addresses to listen on', ['/ip4/127.0.0.1/tcp/0'])
    .option('--workers <n>', 'worker threads for CPU-heavy tasks (default: cores - 1)', positiveInt('--workers'))
    .option('--key <file>', 'persistent identity key file (created if missing)')
    .option('--bootstrap <multiaddr...>', 'dial these peers directly (for networks mDNS does not reach)')
    .option('--no-mdns', 'do not discover peers by mDNS')
    .option('--dht', 'run the mesh DHT: provide the tasks served, find providers beyond the peers connected (see docs/dht.md)', false)
    .option('--max-factorial <n>', 'largest n this node computes factorial for', positiveInt('--max-factorial'))
    .option('--max-matrix <n>', 'largest matrix side this node multiplies', positiveInt('--max-matrix'))
    .option('--psk <file>', 'pre-shared mesh key file: a private mesh only nodes with this key can join (default: $MESH_PSK_FILE)')
    .option('--allow <peer-id...>', 'only these peers may call this node (comma or space separated)')
    .option('--allow-file <file>', 'only the peers listed in this file (one id per line, # comments) may call this node')
    .option('--rate-limit <calls>', 'calls per second one peer may make here (also the burst)', positiveInt('--rate-limit'))
    .option('--json', 'print the ready line as JSON', false)
    .option('--throttle <fraction>', 'run split-job chunks, combinations and merges at this fraction of full speed, 0 < f ≤ 1 (simulates a slow node)', Number)
    .addOption(new Option('--split-chunks <n>', 'cut every split job into n chunks (testing)').argParser(positiveInt('--split-chunks')).hideHelp())
    .addOption(new Option('--split-threshold <cost>', 'split calls from this cost up (testing)').argParser(positiveInt('--split-threshold')).hideHelp())
    .addOption(new Option('--split-alone', 'split heavy calls even with no peer to share them (testing, benchmarks)').hideHelp())
    .addOption(new Option('--steal-silence <ms>', 'take chunks back from a thief silent this long (testing)').argParser(positiveInt('--steal-silence')).hideHelp())
    .option('--task-time-limit <ms>', 'stop (terminate the worker of) any task running longer than this', positiveInt('--task-time-limit'))
    .option('--max-queue <n>', 'calls waiting for a worker before callers are told BUSY (default: 64 per worker)', nonNegativeInt('--max-queue'))
    .option('--drain-timeout <ms>', 'on SIGTERM, how long to finish held calls before handing them back', positiveInt('--drain-timeout'))
    .option('--data-dir <dir>', 'where this node journals detached jobs and their results (:memory: for none; default: a per-identity folder under ~/.local/state/mesh when --key is given)')
    .option('--result-ttl <ms>', 'keep results of detached jobs this long (default 24 h)', positiveInt('--result-ttl'))
    .option('--result-store-max <bytes>', 'most bytes of results kept; oldest out first (default 256 MiB)', positiveInt('--result-store-max'))
    .addOption(new Option('--journal-max-pages <n>', 'let the journal grow to n SQLite pages only: a full disk (testing)').argParser(positiveInt('--journal-max-pages')).hideHelp())
    .option('--dashboard <[host:]port>', 'serve the mesh dashboard, its JSON API and /metrics here (host default 127.0.0.1; see docs/dashboard.md)')
    .option('--dashboard-token <token>', 'bearer token enabling the dashboard\'s actions, cancel and drain (default: $MESH_DASHBOARD_TOKEN; without it: read-only)')
    .option('--dashboard-history <file>', 'where the dashboard keeps recent jobs across restarts (default: under $XDG_STATE_HOME/mesh)')
    .option('--metrics', 'keep Prometheus metrics (on with --dashboard, which serves them at /metrics)')
    .option('--admin <peer-id...>', 'peers (dashboard nodes) that may cancel jobs here and drain this node')
    .action(async (opts) => {
      const { nodeCommand } = await import('./commands/node.js')
      await nodeCommand(opts)
    })

  clientOptions(program.command('call')
    .description('call a task somewhere in the mesh and print its result')
    .argument('<task>', 'task name, e.g. add, factorial, matmul')
    .argument('[args...]', 'arguments: integers, decimals, JSON, true/false or strings')
    .option('--stats', 'after the result, print per-peer chunks, steals and time of a split job (stderr, or in the --json envelope)', false)
    .option('--retries <n>', 're-dispatches after a provider refuses, dies or hangs (default 3)', nonNegativeInt('--retries')))
    .action(async (task: string, args: string[], opts) => {
      const { callCommand } = await import('./commands/call.js')
      await callCommand(task, args, opts)
    })

  clientOptions(program.command('map')
    .description('run a task over each argument across the mesh; results one per line, in order')
    .argument('<task>', 'task name, e.g. factorial')
    .argument('<items...>', 'one argument per call (a JSON array is a whole argument list: \'[1,2]\')')
    .option('--concurrency <n>', 'calls in flight at once (default 64)', positiveInt('--concurrency'))
    .option('--retries <n>', 're-dispatches of each call after a provider refuses, dies or hangs (default 3)', nonNegativeInt('--retries')))
    .action(async (task: string, items: string[], opts) => {
      const { mapCommand } = await import('./commands/map.js')
      await mapCommand(task, items, opts)
    })

  clientOptions(program.command('ls')
    .description('list every task and object in the mesh with its providers'))
    .action(async (opts) => {
      const { lsCommand } = await import('./commands/registry.js')
      await lsCommand(opts)
    })

  clientOptions(program.command('peers')
    .description('list the peers this node can see, with addresses and load'))
    .action(async (opts) => {
      const { peersCommand } = await import('./commands/registry.js')
      await peersCommand(opts)
    })

  clientOptions(program.command('submit')
    .description('hand a task to the mesh and print its job id at once; it runs on without this process')
    .argument('<task>', 'task name, e.g. add, factorial, matmul')
    .argument('[args...]', 'arguments, as for mesh call')
    .option('--job-timeout <ms>', "the job's own time limit (default 1 h)", positiveInt('--job-timeout'))
    .option('--retries <n>', 're-dispatches after a provider refuses, dies or hangs (default 3)', nonNegativeInt('--retries'))
    .option('--countdown <interval>', 'start no sooner than this from now (500ms, 30s, 5m, 24h): kept by its holder across restarts', parseInterval)
    .option('--eta <time>', 'start no sooner than this ISO 8601 time (2026-12-02T04:00:00Z): kept by its holder across restarts', parseEta))
    .action(async (task: string, args: string[], opts) => {
      const { submitCommand } = await import('./commands/jobs.js')
      await submitCommand(task, args, opts)
    })

  clientOptions(program.command('status')
    .description('print the status of a detached job: PENDING, STARTED, PROGRESS n%, SUCCESS, FAILURE, RETRY, CANCELLED or EXPIRED')
    .argument('<id>', 'the job id mesh submit printed'))
    .action(async (id: string, opts) => {
      const { statusCommand } = await import('./commands/jobs.js')
      await statusCommand(id, opts)
    })

  clientOptions(program.command('result')
    .description('print the result of a detached job, as mesh call prints it')
    .argument('<id>', 'the job id mesh submit printed')
    .option('--wait', 'wait for the job to finish (up to --timeout)', false))
    .action(async (id: string, opts) => {
      const { resultCommand } = await import('./commands/jobs.js')
      await resultCommand(id, opts)
    })

  clientOptions(program.command('cancel')
    .description('cancel a detached job wherever it runs')
    .argument('<id>', 'the job id mesh submit printed'))
    .action(async (id: string, opts) => {
      const { cancelCommand } = await import('./commands/jobs.js')
      await cancelCommand(id, opts)
    })

  clientOptions(program.command('jobs')
    .description('list recent detached jobs mesh-wide, newest first')
    .option('--state <state>', 'only jobs in this state')
    .option('--task <task>', 'only jobs of this task')
    .option('--limit <n>', 'at most n jobs (default 100)', positiveInt('--limit')))
    .action(async (opts) => {
      const { jobsCommand } = await import('./commands/jobs.js')
      await jobsCommand(opts)
    })

  clientOptions(program.command('top')
    .description('the whole mesh, live, full screen: nodes, tasks, jobs (q quits; not a terminal: one snapshot)'))
    .action(async (opts) => {
      const { topCommand } = await import('./commands/top.js')
      await topCommand(opts)
    })

  clientOptions(program.command('events')
    .description('print every task event of the mesh as it happens: sent, started, progress, succeeded, failed, retried, cancelled')
    .addOption(new Option('--count <n>', 'exit after n events').argParser(positiveInt('--count'))))
    .action(async (opts) => {
      const { eventsCommand } = await import('./commands/events.js')
      await eventsCommand(opts)
    })

  const schedule = program.command('schedule').description('periodic schedules, kept on every node of the mesh (docs/workflows.md)')
  clientOptions(schedule.command('add')
    .description('add or replace a schedule: mesh schedule add nightly --every 24h --at 04:00 factorial 1000')
    .argument('<name>', 'the schedule\'s name')
    .argument('<task>', 'the task to run at each tick')
    .argument('[args...]', 'its arguments, as for mesh call')
    .option('--every <interval>', 'run every interval: 500ms, 30s, 5m, 24h, 7d')
    .option('--at <HH:MM>', 'with --every: ticks fall on this time of day (UTC)')
    .option('--cron <expression>', 'run on a five-field cron expression (UTC), e.g. "0 4 * * *"')
    .option('--pass-tick', 'pass {tick, at} as the task\'s last argument', false))
    .action(async (name: string, task: string, args: string[], opts) => {
      const { scheduleAddCommand } = await import('./commands/schedule.js')
      await scheduleAddCommand(name, task, args, opts)
    })
  clientOptions(schedule.command('ls').description('list the schedules of the mesh'))
    .action(async (opts) => {
      const { scheduleLsCommand } = await import('./commands/schedule.js')
      await scheduleLsCommand(opts)
    })
  clientOptions(schedule.command('rm').description('remove a schedule everywhere').argument('<name>', 'the schedule\'s name'))
    .action(async (name: string, opts) => {
      const { scheduleRmCommand } = await import('./commands/schedule.js')
      await scheduleRmCommand(name, opts)
    })

  program.command('keygen')
    .description('write a new pre-shared mesh key to <file> (use it with --psk or MESH_PSK_FILE)')
    .argument('<file>', 'where to write the key; an existing file is not overwritten')
    .action(async (file: string) => {
      const { keygenCommand } = await import('./commands/keygen.js')
      await keygenCommand(file)
    })

  program.command('demo')
    .description('start a small local mesh, call across it, print what ran where, and stop')
    .action(async () => {
      const { demoCommand } = await import('./commands/demo.js')
      await demoCommand()
    })

  program.addOption(new Option('--debug', 'print stack traces of errors').hideHelp())
  return program
}

/** Exit codes: 0 success, 1 the call or node failed, 2 bad usage or configuration. */
export async function main (argv: string[]): Promise<number> {
  const program = buildProgram()
  program.exitOverride()
  try {
    await program.parseAsync(argv)
    return 0
  } catch (err: any) {
    if (err?.code?.startsWith?.('commander.')) {
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help' ? 0 : 2
    }
    const json = argv.includes('--json')
    const code = err instanceof MeshError ? err.code : NON_MESH_ERROR_LABEL
    if (json) process.stdout.write(JSON.stringify({ ok: false, error: { code, message: err.message } }) + '\n')
    else process.stderr.write(`mesh: ${code}: ${err.message}\n`)
    if (argv.includes('--debug')) process.stderr.write(`${err.stack}\n`)
    return err instanceof BadArgumentError || err instanceof ConfigError ? 2 : 1
  }
}
