/**
 * Every default and limit of mesh, in one place, with the reason for its value.
 * Each can be overridden through `createMeshNode` options or CLI flags.
 */

/** Protocol of task calls. One long-lived stream per peer pair carries every call. */
export const RPC_PROTOCOL = '/mesh/rpc/1.0.0'
/** Protocol of registry record exchange. */
export const REGISTRY_PROTOCOL = '/mesh/registry/1.0.0'

/**
 * Largest frame accepted on any mesh protocol. A 2000×2000 Float64 matrix is
 * 32 MiB, so 64 MiB lets the documented heavy jobs through while refusing the
 * absurd; a bigger frame resets that stream only.
 */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024

/** Largest signed registry record accepted: records are small summaries. */
export const MAX_RECORD_BYTES = 256 * 1024

/** Calls one peer may have in flight at this node before it is answered BUSY. */
export const DEFAULT_MAX_IN_FLIGHT_PER_PEER = 1024

/** Largest n for factorial: 5e6 already has ~30 million digits. */
export const DEFAULT_MAX_FACTORIAL_N = 5_000_000

/** Largest side of a matrix in matmul, and the most elements in one matrix. */
export const DEFAULT_MAX_MATRIX_DIM = 8192
export const DEFAULT_MAX_MATRIX_ELEMENTS = 16 * 1024 * 1024

/** How long a caller waits for a provider to appear and for the call to finish. */
export const DEFAULT_CALL_TIMEOUT_MS = 30_000

/**
 * A node re-signs and re-sends its record this often even when nothing
 * changed, and peers drop a record not refreshed within RECORD_TTL_MS. The
 * connection closing removes a record at once; the TTL is the backstop.
 */
export const RECORD_REFRESH_MS = 20_000
export const RECORD_TTL_MS = 60_000

/** Load changes are batched: at most one record push per peer in this window. */
export const LOAD_PUBLISH_DEBOUNCE_MS = 100

/** mDNS query interval: libp2p's default is 10 s; 1 s lets a new node be found fast. */
export const MDNS_INTERVAL_MS = 1_000

/** Default listen address: loopback, a random port. */
export const DEFAULT_LISTEN = '/ip4/127.0.0.1/tcp/0'

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
