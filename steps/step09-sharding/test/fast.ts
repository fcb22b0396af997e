// The options every test of this step starts the system with: short
// intervals, a small WAN delay, short leases (long enough that a renewal
// late on a loaded machine does not cost a primary its lease), no rate
// limit at the edges, and a worker's jobs back in the queue a second after
// it died.
import type { SystemOptions } from '../src/system'

export const token = 'a-test-token-of-enough-length'
export const adminToken = 'an-admin-token-of-enough-length'
export const auth = { Authorization: `Bearer ${token}` }
export const admin = { Authorization: `Bearer ${adminToken}` }
export const fast: Omit<SystemOptions, 'dataDir'> = {
  dbToken: token,
  adminToken,
  healthIntervalMs: 100,
  monitorIntervalMs: 100,
  fall: 2,
  rise: 2,
  wanDelayMs: 5,
  witnessDelayMs: 1,
  leaseMs: 1500,
  driftMs: 200,
  edgeRateLimit: false,
  stalledIntervalMs: 1000,
}
