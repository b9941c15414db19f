// Package coverage is Cachet's proof of propagation: for each committed
// transition, how many distinct browsers acknowledged its eviction and how
// long after the ledger's commit they did.
//
// A Tracker is fed the transitions of cachet.transitions (record.Transition)
// and the eviction receipts of cachet.reads (record.Read of kind "evict").
// A receipt counts for the transition of the same key and version; its lag
// is the receipt's At (the browser's clock) minus the transition's Timestamp
// (the ledger transaction's). A negative lag is clock skew: it is clamped to
// 0 and counted. A second receipt from the same client for the same version
// counts once (the earliest At is kept).
//
// # Bounds
//
// Memory is bounded whatever the streams hold; every default is an exported
// constant and every bound an Option:
//
//   - the window keeps at most DefaultMaxTransitions (100,000) transitions,
//     none that arrived more than DefaultMaxAge (1 h) ago, and at most
//     DefaultMaxAcks (1,000,000) acknowledgements across them; beyond any of
//     the three, the transitions that arrived first leave first (FIFO);
//   - a receipt whose transition is not in the window waits in a pending
//     buffer of at most DefaultMaxPending (10,000) receipts for at most
//     DefaultPendingAge (5 min), because the two topics are not ordered with
//     respect to each other; it is matched when the transition arrives, and
//     counted as unmatched (not kept) when it is pushed out or times out;
//   - a receipt older than the window's age (At before now − MaxAge) is
//     counted as expired and not kept;
//   - keys over cachekey.MaxKeyBytes and transaction or client IDs over
//     MaxIDBytes are refused with an *InvalidError, so each entry has a
//     bounded size.
//
// A full default window measured 139 MB of heap: 100,000 transitions with
// 95-byte keys and 64-hex-digit transaction IDs, 10 clients each with
// 36-byte IDs (1,000,000 acknowledgements) and 10,000 pending receipts.
// Stats reports the counts.
//
// Ages are measured on the Tracker's clock (arrival), not on ledger
// timestamps, so a daemon that replays a topic from its start keeps the
// most recent transitions it read.
//
// Handler serves the coverage of a transaction as JSON
// (GET /v1/coverage/{txid}) and Client fetches it.
package coverage
