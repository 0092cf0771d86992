/**
 * Every default and limit of mesh, in one place, with the reason for its value.
 * The limits and timeouts a user tunes (the `DEFAULT_*` values) are options of
 * `createMeshNode` / `meshService` (and CLI flags); protocol ids, wire sizes
 * and internal timings are fixed here, so every node of a mesh agrees on them.
 */

/** Protocol of task calls. One long-lived stream per peer pair carries every call. 2.0.0: frames may carry out-of-band attachments (src/codec.ts), which 1.x cannot read. */
export const RPC_PROTOCOL = '/mesh/rpc/2.0.0'
/** Protocol of registry record exchange. */
export const REGISTRY_PROTOCOL = '/mesh/registry/1.0.0'

/**
 * Largest frame accepted on any mesh protocol. A 2000×2000 Float64 matrix is
 * 32 MiB, so 64 MiB lets the documented heavy jobs through while refusing the
 * absurd; a bigger frame resets that stream only.
 */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024

/**
 * Typed arrays from this size travel out of band in an RPC frame (see
 * src/codec.ts): below it, copying into the body costs less than the extra
 * piece and its header. 64 KiB is one Noise message.
 */
export const ATTACH_MIN_BYTES = 64 * 1024

/** A fresh result's buffer is moved out of its worker thread from this size; below it a copy costs about as much as the transfer. */
export const MOVE_MIN_BYTES = 64 * 1024

/** setTimeout's largest delay (2³¹ − 1 ms, ~24.8 days): Node runs a longer one after 1 ms instead. */
export const MAX_TIMER_MS = 2 ** 31 - 1

/** Most attachments in one frame: the count is one byte, and beyond it the rest are written inline. */
export const MAX_ATTACHMENTS = 255

/** Largest signed registry record accepted: records are small summaries. */
export const MAX_RECORD_BYTES = 256 * 1024

/** Calls one peer may have in flight at this node before it is answered BUSY. */
export const DEFAULT_MAX_IN_FLIGHT_PER_PEER = 1024

/** Largest n for factorial: 5e6 already has ~30 million digits. */
export const DEFAULT_MAX_FACTORIAL_N = 5_000_000

/** Largest side of a matrix in matmul, and the most elements in one matrix. */
export const DEFAULT_MAX_MATRIX_DIM = 8192
export const DEFAULT_MAX_MATRIX_ELEMENTS = 16 * 1024 * 1024

/**
 * How long a caller waits for a provider to appear and for the call to finish,
 * the same for the library and the CLI (`--timeout`): a call should not
 * succeed from one and time out from the other. 30 s rather than the CLI's
 * old 10 s because the timeout bounds the work too (factorial(10^6) or a
 * 2000² matmul take seconds on a loaded node); a CLI call that finds peers
 * but no provider still ends early (UNKNOWN_TASK_GRACE_MS).
 */
export const DEFAULT_CALL_TIMEOUT_MS = 30_000

/**
 * A node re-signs and re-sends its record this often even when nothing
 * changed, and peers drop a record not refreshed within RECORD_TTL_MS. The
 * connection closing removes a record at once; the TTL is the backstop.
 * Relayed records (src/registry/relay.ts) are dropped sooner, when not
 * refreshed within RELAYED_RECORD_TTL_MS: the refresh is what keeps a record
 * alive beyond the origin's neighbours, so it is every 5 s (was 20 s; one
 * signature and one small frame per neighbour).
 */
export const RECORD_REFRESH_MS = 5_000
export const RECORD_TTL_MS = 60_000
/**
 * The refresh interval grows with the mesh: RECORD_REFRESH_PER_PEER_MS for
 * each record a node holds, from RECORD_REFRESH_MS up to
 * RECORD_REFRESH_MAX_MS. Every node verifies and relays every peer's
 * refresh, so a fixed interval costs the mesh N² a period: at 50 nodes on
 * two cores, the mesh at rest spent a core on it. Scaled, each node handles
 * about 1/RECORD_REFRESH_PER_PEER_MS refreshes a second whatever the size
 * (5 a second), and the interval is 5 s up to 25 peers, 10 s at 50, 20 s
 * from 100. A record carries its interval (signed, `refresh`), and a relayed
 * copy lives for RELAYED_RECORD_TTL_REFRESHES of its own origin's interval:
 * nodes need not agree on the mesh's size. The cost: a peer that vanishes
 * with nobody noticing (no connection closed) stays listed by those that
 * only heard of it for up to 3 intervals (15 s–60 s).
 */
export const RECORD_REFRESH_PER_PEER_MS = 200
export const RECORD_REFRESH_MAX_MS = 20_000
/** The registry looks for expired records at most this often when asked for peers (on every call): a record lives for RECORD_TTL_MS. */
export const REGISTRY_EXPIRE_CHECK_MS = 250
/** Listeners of a node's registry 'change' events before Node warns: each service of the node follows it (about a dozen today). */
export const REGISTRY_MAX_LISTENERS = 64

/**
 * The private Kademlia DHT (`dht: true`, src/registry/dht.ts) for meshes that
 * mDNS and record relaying do not span. Its own protocol id keeps it apart
 * from the public IPFS DHT (and from other applications' DHTs).
 */
export const DHT_PROTOCOL = '/mesh/kad/1.0.0'
/**
 * A provider record lives this long (s; libp2p's default is 48 h, for
 * content that stays put): a service that stops is forgotten by the DHT
 * within 10 minutes, and until then a caller that finds it only pays a
 * failed dial (the signed registry record decides, not the provider record).
 */
export const DHT_PROVIDE_VALIDITY_S = 600
/** Re-provide this long before a provider record expires, ms (checked every DHT_REPROVIDE_CHECK_MS). */
export const DHT_REPROVIDE_THRESHOLD_MS = 300_000
export const DHT_REPROVIDE_CHECK_MS = 60_000
/** A provide that failed (no DHT peers yet) is tried again after this long, ms, or after a new connection. */
export const DHT_PROVIDE_RETRY_MS = 1_000
/** Below this many connections a node provides again after each new one (closer peers may arrive): Kademlia's k. */
export const DHT_PROVIDE_SETTLED_PEERS = 20
/** A caller that looks a task up dials at most this many of the providers found (each brings its registry record). */
export const DHT_FIND_MAX_DIALS = 8

/** Load changes are batched: at most one record push per peer in this window. */
export const LOAD_PUBLISH_DEBOUNCE_MS = 100

/** Default listen address: loopback, a random port. */
export const DEFAULT_LISTEN = '/ip4/127.0.0.1/tcp/0'

/*
 * Work stealing (src/stealing/, docs/work-stealing.md).
 */

/**
 * factorial is not split by default. Measured on 2 and 3 nodes (bench:steal,
 * docs/work-stealing.md), a split factorial(10^6) took 1138-1182 ms against
 * 754 ms for the whole-call prime-swing kernel on one node: the range
 * products alone cost more than that kernel, and their product-tree merge
 * (~45 % of the split work) runs on the owner alone, so no number of nodes
 * wins it back. Splitting stays available (`steal: { threshold }`) for the
 * day the merge itself is distributed.
 */
export const FACTORIAL_SPLIT_THRESHOLD = Number.MAX_SAFE_INTEGER
/**
 * A split factorial's combination of operands this big (bits of both
 * together) runs as three Karatsuba products on three nodes and their join
 * (src/tasks/split-builtins.ts): 1.5× the work of one multiplication, a
 * third of its time when nodes are free. From 8 M bits: for factorial(10^6)
 * the tree's top two levels (three multiplications, ~60 % of the tree's
 * serial path), where fewer combinations are left than nodes.
 */
export const FACTORIAL_KARATSUBA_BITS = 8_000_000

/**
 * matmul is split from this many multiply-adds up (800³: ~70 ms on one core
 * at 15 GFLOP/s): smaller calls run whole. At 400³ (~8 ms of compute) a
 * split paid an offer, a steal round trip and the result's trip through the
 * owner for a few ms of work: a small job on 2 nodes must not be slower
 * than on 1.
 */
export const MATMUL_SPLIT_THRESHOLD = 512_000_000

/**
 * A matmul chunk has at least this many rows of A. The kernel streams all of
 * B (32 MB for 2000²) once per block of rows, whatever the block's height, so
 * thin chunks pay that pass for little compute: measured on one core, 2000²
 * costs 843 ms per 2000 rows in 250-row chunks, 898 in 125-row, 895 in
 * 62-row and 1020 in 31-row ones. At 8 nodes × 8 chunks a 2000-row job would
 * be cut into 31-row chunks.
 */
export const MATMUL_MIN_CHUNK_ROWS = 60
/** Below this size B stays in a core's cache (2 MiB of this machine's 4 MiB L2 pair) and a chunk of any height pays no pass over memory. */
export const MATMUL_CACHED_B_BYTES = 2 * 1024 * 1024

/**
 * Chunks per node serving the task (the owner and its peers): enough that
 * a thief can take half of what is left several times and the last chunks
 * are short, few enough that per-chunk overhead (a thread hop, a frame)
 * stays small.
 */
export const STEAL_CHUNKS_PER_NODE = 8

/**
 * decimal(x) splits from this many bits of x (~1.26 million digits; V8 takes
 * ~0.5 s to print such a number): below it one node converts faster than a
 * split pays its extra divisions and transfers.
 */
export const DECIMAL_SPLIT_BITS = 2 ** 22
/** decimal(x) splits into at most this many digit blocks (each repeats a division of about x's size). */
export const DECIMAL_MAX_BLOCKS = 8

/**
 * A thief asks for at most this many chunks per worker thread, counting what
 * it runs and holds: one running and one ready behind it, so a worker never
 * waits for a steal's round trip, and no thief sits on chunks a faster node
 * could run. The owner keeps the rest and hands it out as thieves ask again,
 * so each node's share follows its speed without an estimate of it.
 */
export const STEAL_CHUNKS_PER_WORKER = 2

/**
 * A thief gives up sending a part straight to the caller after this long and
 * sends it, and the rest of its batch, through the owner (a caller it cannot
 * reach within a few seconds is better served the old way than waited for).
 */
export const STEAL_DELIVER_TIMEOUT_MS = 5_000

/** Most chunks one job is cut into. */
export const STEAL_MAX_CHUNKS = 64

/**
 * Dask's rule: a steal must pay. The transfer is estimated at this many
 * bytes per ms until the owner has measured it on a steal (each batch's
 * first partial: round trip minus compute), plus a fixed round-trip cost.
 * 100 MB/s is a LAN-ish first guess; RPC on a loaded loopback measured less.
 */
export const STEAL_ASSUMED_BYTES_PER_MS = 100_000
export const STEAL_ROUND_TRIP_MS = 2

/** An idle node with nothing to steal looks again this often while some peer advertises stealable work. */
export const STEAL_RETRY_MS = 50

/**
 * An owner that splits a job tells the peers serving the task at once
 * (`@mesh/offer`); a thief treats the owner as loaded for this long, or until
 * a steal from it is refused, even before the owner's registry record (pushed
 * with a 100 ms debounce) arrives.
 */
export const STEAL_OFFER_MS = 2_000

/** A victim that refused a steal is left alone this long (unless its record changes). */
export const STEAL_REFUSED_BACKOFF_MS = 200

/**
 * A thief running stolen chunks sends a heartbeat this often (besides each
 * partial); an owner that hears nothing from it for STEAL_SILENCE_MS takes
 * its chunks back: covers a thief that stays connected but stops answering.
 * A dropped connection takes them back at once. A fixed lease on the whole
 * batch was tried first: a slow batch outlived it and was done twice.
 */
export const STEAL_HEARTBEAT_MS = 2_000
export const STEAL_SILENCE_MS = 10_000

/** After asking a victim for work, a thief accepts its work call for this long (and waits for it no longer). */
export const STEAL_WORK_WAIT_MS = 5_000

/** Progress events to the caller: at most one per this many ms (and always the last). */
export const STEAL_PROGRESS_MS = 100

/** A thief keeps the shared data (matmul's B) of at most this many jobs, and forgets a job's data after STEAL_SHARED_TTL_MS unused. */
export const STEAL_MAX_CACHED_JOBS = 4
export const STEAL_SHARED_TTL_MS = 60_000
/**
 * Leases (see docs/reliability.md). A provider holding calls on a channel
 * sends a heartbeat this often; a caller waiting on a channel that has heard
 * nothing for LEASE_TIMEOUT_MS treats the provider as hung: it aborts the
 * connection and re-dispatches. A dead process is noticed sooner, when its
 * connection resets. 6 renewals per lease tolerate GC pauses and a loaded
 * machine; a false lapse costs a retry, never a lost call.
 */
export const LEASE_RENEW_MS = 250
export const LEASE_TIMEOUT_MS = 1_500

/** Re-dispatches of one job after a retryable failure (BUSY, draining, connection lost, lease lapsed). */
export const DEFAULT_RETRIES = 3
/** Backoff between attempts when no other provider is free: full jitter over base·2^n, capped. */
export const RETRY_BACKOFF_BASE_MS = 50
export const RETRY_BACKOFF_MAX_MS = 1_000

/**
 * Calls waiting for a worker beyond those running, per worker, before a node
 * answers BUSY. Bounds a node's memory under a flood; callers spread out.
 */
export const DEFAULT_QUEUE_PER_WORKER = 64

/** Longest a draining node (SIGTERM) waits for the calls it holds before handing the rest back. */
export const DEFAULT_DRAIN_TIMEOUT_MS = 10_000
// ---- Security limits (docs/security.md lists each with its default) ----

/**
 * Largest request frame (task name, arguments and envelope) this node
 * accepts, in bytes. Equal to the frame limit by default; lower it on a node
 * that should only take small calls. Over it: LIMIT_EXCEEDED for that call,
 * the stream stays up.
 */
export const DEFAULT_MAX_ARG_BYTES = DEFAULT_MAX_FRAME_BYTES

/**
 * Largest BigInt accepted in a call's arguments, in bits: 2^25 bits is
 * ~10 million decimal digits. Decoding a BigInt costs ~3 ms per million bits
 * of event loop, so the bound is checked on the raw bytes, before decoding.
 */
export const DEFAULT_MAX_BIGINT_BITS = 2 ** 25

/**
 * Largest BigInt accepted in any frame (results included), in bits: room for
 * factorial(5,000,000), ~108 million bits, the largest the default limits allow.
 */
export const MAX_WIRE_BIGINT_BITS = 2 ** 27

/** Deepest nesting of arrays and maps in a frame; the RPC envelope itself uses 2 levels. */
export const MAX_FRAME_DEPTH = 64

/**
 * Most values in one frame. One wire byte can become a JS value of 8–80
 * bytes, so this, not the frame size, bounds the memory a decode takes.
 * 16 Mi lets a 2000×2000 matrix through as nested number arrays.
 */
export const MAX_FRAME_VALUES = 16 * 1024 * 1024

/** Most arrays and maps in one frame (each costs a JS object, ~50 bytes or more). */
export const MAX_FRAME_CONTAINERS = 1024 * 1024

/**
 * Inbound RPC streams one connection may hold open. A node opens one per
 * peer; a few spare allow reconnects. Each may buffer up to one frame, so this
 * times the frame limit bounds what one connection can make a node buffer.
 */
export const RPC_MAX_INBOUND_STREAMS = 8
export const RPC_MAX_OUTBOUND_STREAMS = 16

/** Inbound registry streams per connection: a peer pushes its record on one. */
export const REGISTRY_MAX_INBOUND_STREAMS = 4
export const REGISTRY_MAX_OUTBOUND_STREAMS = 4

/**
 * Per-peer call rate limit, a token bucket: each call takes a token; tokens
 * refill at this rate per second, up to the burst. One peer on this 2-core
 * machine peaks at ~20,000 `add` calls/s, so the default never slows honest
 * use here while bounding what one peer can queue on a faster host.
 * Over it: RATE_LIMITED (retryable).
 */
export const DEFAULT_RATE_LIMIT_PER_SECOND = 50_000
export const DEFAULT_RATE_LIMIT_BURST = 50_000

/**
 * mDNS service name of a private mesh: `_mesh-<16 hex of a hash of the PSK>`.
 * Nodes of different private meshes (and open nodes) then do not even
 * discover each other, so they never waste dials that pnet would refuse.
 */
export const PSK_MDNS_TAG_PREFIX = '_mesh-'

/** Environment variable naming the pre-shared key file for `mesh node/call/ls/peers`. */
export const PSK_FILE_ENV = 'MESH_PSK_FILE'
/**
 * Remote objects. Handles and callbacks one peer may hold at this node at
 * once: each pins an object in memory until it is released, so a peer that
 * never releases is refused (LIMIT_EXCEEDED) instead of growing the heap.
 */
export const MAX_REFS_PER_PEER = 10_000
/** How deep arguments and results are searched for functions and handles (a cycle stops here). */
export const MAX_REF_DEPTH = 32
/** MessagePack extension type carrying a handle or callback reference on the wire. */
export const REF_EXTENSION_TYPE = 0x4d

// ---- LAN discovery and dialling (src/discovery/, issue 15) ----

/**
 * mDNS queries: at start, then backing off. A new node is found by its own
 * announcement (sent at start and again after MDNS_ANNOUNCE_REPEAT_MS) and
 * finds the others by its first query; later queries only make up for lost
 * packets, so they back off to one per MDNS_QUERY_INTERVAL_MS. (@libp2p/mdns
 * queried every second, and each query cost N² packet handlings mesh-wide.)
 */
export const MDNS_QUERY_SCHEDULE_MS = [0, 1_000, 3_000, 10_000, 30_000]
export const MDNS_QUERY_INTERVAL_MS = 60_000
export const MDNS_ANNOUNCE_REPEAT_MS = 1_000
/** TTL of the records a node answers with, in seconds: @libp2p/mdns's value. */
export const MDNS_RECORD_TTL_S = 120
/** Multicast answers to other implementations' queries wait a random 20–120 ms (RFC 6762 §6), so N answers do not land at once. */
export const MDNS_RESPONSE_DELAY_MS: [number, number] = [20, 120]
/** Records read from one mDNS packet, and addresses kept per peer: a flood of fake answers costs bounded work. */
export const MDNS_MAX_ANSWERS = 64
export const MDNS_MAX_ADDRS_PER_PEER = 8
/**
 * Dialling discovered peers (src/discovery/dialer.ts). Of two nodes that find
 * each other the higher peer id waits DIAL_YIELD_MS (+ up to half again) for
 * the lower one's dial: one connection per pair. Failed dials back off from
 * DIAL_BACKOFF_BASE_MS, doubling to DIAL_BACKOFF_MAX_MS, while discovery
 * reported the peer within DIAL_FORGET_MS (bootstrap peers: for good).
 * DIAL_MAX_PARALLEL bounds the handshakes one node runs at once (each costs
 * a few ms of CPU; dozens at once starved a 2-core machine), DIAL_MAX_PEERS
 * the peers it tracks (about 200 bytes each).
 */
export const DIAL_YIELD_MS = 1_000
export const DIAL_BACKOFF_BASE_MS = 500
export const DIAL_BACKOFF_MAX_MS = 30_000
export const DIAL_FORGET_MS = 30_000
export const DIAL_MAX_PARALLEL = 8
export const DIAL_MAX_PEERS = 1_024
/**
 * The partial mesh: a node dials discovered peers while it has fewer than
 * this many, plus its ring successor (so the mesh is always connected);
 * records are relayed to the rest. With 6, a mesh of up to 7 nodes (the
 * work-stealing clusters of docs/work-stealing.md) is still complete, and 50
 * nodes hold ~10 connections each (relay paths of ~3 hops, a few ms each).
 * Each connection costs both ends ~40 ms of CPU to set up (Noise, identify,
 * registry streams, the peer store): with 8, 50 nodes on two cores held
 * ~17 each and spent 2.3 s of CPU per node converging, and a client calling
 * all 50 was starved of CPU (36/50 callable after 60 s); with 6, 1.6 s and
 * 50/50 (docs/scale.md).
 */
export const DIAL_TARGET_PEERS = 6
/** A dial (TCP, Noise, Yamux) or inbound upgrade may take this long: 3× libp2p's 10 s, for loaded machines; a dead peer fails at once (refused or unreachable). */
export const DIAL_TIMEOUT_MS = 30_000
/**
 * Record relaying (src/registry/relay.ts). A relayed record not refreshed
 * within RELAYED_RECORD_TTL_REFRESHES of its origin's interval is dropped: the bound on how
 * long a peer that vanished without any neighbour noticing stays listed.
 * MAX_RECORDS bounds the records a node holds, MAX_RECORDS_PER_NEIGHBOUR
 * the origins one neighbour may introduce (a flood of fake records stops
 * there), MAX_RELAYED_RECORD_BYTES a relayed record's size (a direct one
 * may be up to MAX_RECORD_BYTES): 4096 × 16 KiB bounds held frames to 64 MiB
 * in the worst case, ~1 KiB each in practice. A load-only change is
 * forwarded at most once per RELAY_LOAD_INTERVAL_MS per origin.
 */
export const RELAYED_RECORD_TTL_REFRESHES = 3
export const MAX_RECORDS = 4_096
export const MAX_RECORDS_PER_NEIGHBOUR = 512
export const MAX_RELAYED_RECORD_BYTES = 16 * 1024
export const RELAY_LOAD_INTERVAL_MS = 1_000
/**
 * Relayed records are announced as (origin, seq) and pulled by the
 * neighbours that lack them (src/registry/pull.ts). Announcements to a
 * neighbour are batched for RELAY_ANNOUNCE_MS (a mesh starting up accepts
 * dozens of records a second: one frame, not dozens; 20 ms is small beside
 * a hop's verify on a busy CPU). A record asked of a neighbour is asked of
 * the next announcer after RELAY_PULL_TIMEOUT_MS (or at once when that
 * neighbour goes): long enough for a loaded node to answer, short beside
 * the 5 s refresh that would bring it anyway. A `have` or `want` frame
 * carries at most MAX_ANNOUNCED_PER_FRAME entries (~60 B each: ~60 KiB,
 * well under MAX_RECORD_BYTES).
 */
export const RELAY_ANNOUNCE_MS = 20
/**
 * A refresh or a load update (nothing a caller must know at once) waits up
 * to this long for its batch: every frame costs each end ~0.1–0.2 ms in
 * Yamux, Noise and the socket whatever its size, and with refreshes spread
 * over time a 20 ms batch held one or two: at rest, a node of a 30-node mesh
 * sent ~100 frames a second. Three hops add ≤ 3 s, well inside the
 * relayed TTL (three refresh intervals, ≥ 15 s).
 */
export const RELAY_REFRESH_ANNOUNCE_MS = 1_000
/**
 * A relayed record's addresses go to the peer store when they change, and
 * again this often: the peer store drops addresses not refreshed within its
 * maxAddressAge (1 h), and a peer known only through relays must stay dialable.
 */
export const ADDRS_RELEARN_MS = 10 * 60_000
export const RELAY_PULL_TIMEOUT_MS = 2_000
export const MAX_ANNOUNCED_PER_FRAME = 1_024
/*
 * Detached jobs and their journal (src/results/, src/store/, docs/results.md).
 */

/** Results of detached jobs are kept this long after they finish (Celery's result_expires default), then swept. */
export const DEFAULT_RESULT_TTL_MS = 24 * 60 * 60 * 1000

/**
 * Most bytes of finished results one node keeps; the oldest go first (and
 * read as EXPIRED). 256 MiB holds ~600 factorial(200000) results or millions
 * of small ones, and fits any disk this runs on.
 */
export const DEFAULT_RESULT_STORE_MAX_BYTES = 256 * 1024 * 1024

/**
 * An expired result's row (~200 bytes, no payload) is kept this long more,
 * so asking for it says EXPIRED rather than UNKNOWN_JOB for a day.
 */
export const EXPIRED_KEPT_MS = 24 * 60 * 60 * 1000

/** The sweep of expired results runs this often at most (and at least every ttl/10, so short test TTLs are honoured). */
export const RESULT_SWEEP_MAX_MS = 60_000
export const RESULT_SWEEP_MIN_MS = 50

/**
 * A detached job's own time limit when the submitter gives none. Nobody is
 * waiting, so the 30 s call default is too short; an hour bounds a stuck job.
 */
export const DEFAULT_DETACHED_TIMEOUT_MS = 60 * 60 * 1000

/** Random bits in a job id: unguessable (≥ 128), like a UUIDv4's 122 but more. */
export const JOB_ID_RANDOM_BYTES = 16
/** Bytes of each holder hint in a job id (a hash prefix of the holder's peer id): enough to find it among thousands of peers, few false hits. */
export const JOB_ID_HINT_BYTES = 4

/** The journal's file in the data dir, its SQLite application_id ("mesh" in ASCII) and schema version. */
export const JOURNAL_FILE = 'jobs.sqlite'
export const JOURNAL_APPLICATION_ID = 0x6d657368
export const JOURNAL_SCHEMA_VERSION = 3

/**
 * A running detached job's STARTED/PROGRESS/RETRY state and last progress are
 * journaled at most once per job this often, all pending ones in one
 * transaction: they only matter after a restart (what `mesh status` reads then),
 * a split job reports progress every 100 ms, and a job that finishes within
 * this window never writes them at all — the final state supersedes them.
 */
export const PROGRESS_JOURNAL_MS = 1_000
/**
 * A provider sends the outcomes of the jobs it settles to each replica at most
 * this often, all in one call that the replica journals in one transaction:
 * in a busy loop that is one call and one commit for tens of jobs instead of
 * one each. The outcome is journaled at the provider before; should the
 * provider die within the window, the replica re-runs the job (idempotent) or
 * ends it MAY_HAVE_RUN, as it would had the provider died a round trip earlier.
 */
export const SETTLED_BATCH_MS = 20
/**
 * When a peer that also held results kept here leaves, this node gives them a
 * new second holder a page at a time: this many results per page (one index
 * look-up), this many copies in flight, a page every RESULT_RECOPY_PAUSE_MS.
 * A leave costs one page at once, however many results the peer held; 10,000
 * results of a few hundred bytes are re-held within ~40 s without crowding
 * the node's own calls.
 */
export const RESULT_RECOPY_PAGE = 256
export const RESULT_RECOPY_CONCURRENCY = 8
export const RESULT_RECOPY_PAUSE_MS = 1_000
/** A progress event bigger than this, encoded, is not journaled (its state is): progress is a few numbers, not data. */
export const PROGRESS_JOURNAL_MAX_BYTES = 16 * 1024

/** Internal calls (asking a holder, replicating) wait this long for an answer. */
export const RESULT_CALL_TIMEOUT_MS = 5_000

/** `mesh jobs` and `node.jobs()` list at most this many per node asked. */
export const DEFAULT_JOBS_LIST_LIMIT = 100

/*
 * Workflows: chains, groups, chords, map (src/workflows/, docs/workflows.md).
 */

/**
 * Longest chain accepted. Each hop keeps its call to the next hop open until
 * the chain ends (so a dead hop is noticed at once, as PEER_GONE), which
 * holds one call per step along the path: 256 is far past any real
 * pipeline, and well inside the per-peer in-flight limit.
 */
export const DEFAULT_MAX_CHAIN_STEPS = 256

/** Most signatures in one workflow (all its groups, chords and chains): a bound on what one submit can fan out. */
export const DEFAULT_MAX_WORKFLOW_SIGNATURES = 100_000

/**
 * Before anything runs, a workflow waits this long for a provider of each
 * task it names once peers are known: a task nobody serves then fails the
 * whole workflow with UNKNOWN_TASK naming the step, instead of failing
 * midway after earlier steps ran.
 */
export const WORKFLOW_UNKNOWN_AFTER_MS = 1_000

/** Calls node.map keeps in flight by default: enough to hide a LAN round trip behind per-call work. */
export const DEFAULT_MAP_CONCURRENCY = 64

/** Priorities of calls, 0..9: higher runs first in a provider's queue (Celery's range); the default is in the middle. */
export const MIN_PRIORITY = 0
export const MAX_PRIORITY = 9
export const DEFAULT_PRIORITY = 4

/**
 * A schedule's backup fires a tick its owner has not reported within this
 * grace (or half the period, if shorter): long enough for the owner's
 * "fired" note to arrive on a loaded LAN, short next to the usual periods.
 */
export const SCHEDULE_BACKUP_GRACE_MS = 5_000

/** Tick ids a node remembers having fired or run (to drop repeats): days of a per-second schedule. */
export const SCHEDULE_RAN_MEMORY = 100_000

/** How long a firer waits for the other nodes to note a tick as fired before it runs it anyway. */
export const SCHEDULE_NOTICE_TIMEOUT_MS = 2_000

/** How long one scheduled run may take before the firer stops waiting on it (the run itself goes on). */
export const SCHEDULE_RUN_TIMEOUT_MS = 10 * 60_000

/**
 * A node fires no tick for this long after it starts: time for its peers'
 * registry records to arrive, so that its view of who owns a schedule is the
 * mesh's (a node alone at first thinks it owns everything). The latest tick
 * missed meanwhile is its one catch-up.
 */
export const SCHEDULE_SETTLE_MS = 2_000

/** Tick ids fired and run are kept on disk this long (each schedule's newest longer): repeats come within seconds, a catch-up is the newest. */
export const SCHEDULE_TICKS_KEPT_MS = 60 * 60_000

/** Forget old tick ids once per this many written (a DELETE over an index: cheap, but not per tick). */
export const SCHEDULE_PRUNE_EVERY = 256

/** How long a holder waits for the replica of a delayed job to keep its eta before answering the submit anyway. */
export const DELAY_NOTICE_TIMEOUT_MS = 5_000

/** A replica's note of a delayed job's eta is forgotten this long after the eta (its provider ran it long ago). */
export const DELAYS_KEPT_MS = 7 * 24 * 3_600_000

/** A journaled chord's outcome is kept this long after it finished, for a submitter that asks again after its holder restarted. */
export const CHORD_KEPT_MS = 60 * 60_000

/** How long a submitter waits for the holder of a journaled chord to come back (a restart) before it takes the loss as the answer. */
export const CHORD_REJOIN_MS = 60_000

/** Between a submitter's tries to reach a restarting chord holder. */
export const CHORD_REJOIN_PAUSE_MS = 200

/** The schema version of the workflow tables in the journal database (src/store/workflow-store.ts). */
export const WORKFLOW_STORE_SCHEMA_VERSION = 1

/**
 * Data plane (src/node/coalesce.ts): a send to the socket below this size is
 * joined into one buffer (copying a few KiB costs less than a writev of its
 * small chunks, each converted to a Buffer); a bigger one corks the socket
 * for the tick instead, so bulk bytes are never copied on their way out.
 */
export const JOIN_SEND_BELOW_BYTES = 16 * 1024

/**
 * Seeing the mesh (issue 12: src/events, src/metrics, src/dashboard).
 * Finished calls each node keeps in memory for a new subscriber: enough
 * for a screenful of history without holding arguments (they are kept
 * shortened to EVENT_ARGS_CHARS characters).
 */
export const RECENT_JOBS = 200
/** Arguments of a job as events and the dashboard show them: enough to recognise a call, never a matrix. */
export const EVENT_ARGS_CHARS = 80
/**
 * The alphabet of task and object names, as the task loader and expose()
 * accept them. The registry refuses a record from the wire naming anything
 * else: a hostile peer can sign any offer it likes.
 */
export const NAME_PATTERN = /^[A-Za-z_][\w-]*$/
/** Subscribers to one node's task events at once (`mesh top`, `mesh events`, dashboards): each costs a frame per event. */
export const MAX_EVENT_SUBSCRIBERS = 32
/**
 * Finished jobs a dashboard keeps (in memory and in its history file). The
 * file is rewritten to this many lines when it reaches twice as many, so it
 * stays bounded without a rewrite per job.
 */
export const DASHBOARD_HISTORY_JOBS = 1000
/** Dashboard server-sent events are batched this often, ms: a busy mesh sends a few updates a second, not one per call. */
export const DASHBOARD_PUSH_MS = 250
/** Default dashboard address: loopback only, so nothing is exposed unless asked. */
export const DEFAULT_DASHBOARD_HOST = '127.0.0.1'
/** Task rates (calls/s) are averaged over this window, ms. */
export const TASK_RATE_WINDOW_MS = 60_000
/** Run times kept per task for its p50/p99. */
export const TASK_DURATION_SAMPLES = 512
/** Buckets of mesh_call_duration_seconds: an inline add is ~0.1 ms, a large matmul or factorial tens of seconds. */
export const CALL_DURATION_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

/**
 * X25519 key pairs a node keeps as KeyObjects for Noise (src/node/noise-crypto.ts):
 * the static key and the ephemeral keys of handshakes in progress. 64 covers
 * DIAL_MAX_PARALLEL dials and as many inbound handshakes at once many times over;
 * an evicted key falls back to the slower import, never fails.
 */
export const NOISE_KEY_CACHE = 64
