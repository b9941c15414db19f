// Package advice is a writer's side of cachet.advice: the newest advice
// for each key, followed from Kafka (Table), and a Router that writes the
// invalidations of the keys analytics advises to batch (action "batch":
// writers collide on them) through one gateway.Coalescer, and every other
// key directly.
//
// Why it helps: two transactions writing one key in flight together make
// the later one fail its MVCC check, and the gateway resubmits it. The
// coalescer keeps one transaction in flight per key and lets every
// invalidation of the key that arrives meanwhile share the next one, so a
// hot key costs a transaction per commit time instead of a race per
// writer. Keys nobody contends for keep the direct path and its lower
// latency.
package advice
