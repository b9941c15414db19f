// Package receipt makes and verifies self-contained receipts of Fabric
// transactions: the transaction's envelope, the block that holds it, and
// the channel configuration whose certificate authorities and block
// validation policy vouch for it (a reference, and the configuration block
// itself when the receipt carries it). Anyone holding a trusted copy of
// that configuration block, or trusting the organizations' root CAs
// (TrustCAs), can verify a receipt offline, without asking a peer: who
// submitted the transaction, which peers endorsed it under which policy,
// that the orderers put it in a block, and what it did.
//
// Verify proves what signatures prove. The transaction's validation flag
// is written by the committing peer and signed by no one; Verify re-checks
// what makes a flag VALID that signatures can show (the creator's and the
// endorsers' signatures, the endorsement policies of the written keys), but
// a read conflict (MVCC) is a fact about the ledger's state at commit time
// that no receipt carries.
package receipt
