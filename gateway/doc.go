// Package gateway is Cachet's client toolkit on the Fabric Gateway: connect
// to peers with failover, submit and evaluate the contract's transactions
// with typed errors, coalesce invalidations into batches, and follow
// committed transitions from a durable checkpoint. A long-running process
// learns each submit's latency and outcome through Config.Observer (no
// metrics library is linked here).
package gateway
