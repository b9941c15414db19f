// Package audit builds a key's audit trail from the ledger itself: every
// transaction that changed the key, read from the blocks that hold them,
// with who submitted it (organization, certificate subject, cachet.role),
// who endorsed it, the endorsement policy that applied, the reason and the
// API token, and optionally the refused attempts on the key that reached a
// block (invalid transactions, which the key's history does not list).
//
// The trail reads what blocks say; it proves nothing. To prove one entry,
// make its receipt (gateway.Client.Receipt) and verify it offline
// (receipt.Verify).
package audit
