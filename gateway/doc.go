// Package gateway is Cachet's client toolkit on the Fabric Gateway: connect
// to peers with failover, submit and evaluate the contract's transactions
// with typed errors, coalesce invalidations into batches, and follow
// committed transitions from a durable checkpoint.
package gateway
