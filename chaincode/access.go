package chaincode

import (
	"github.com/cachetsync/cachet/ledger"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

// Role is the value of a client certificate's cachet.role attribute.
type Role string

// Roles and the certificate attribute that carries them.
const (
	RoleAttribute        = "cachet.role"
	RolePublisher   Role = "publisher"   // publish, invalidate, purge
	RoleInvalidator Role = "invalidator" // invalidate only
	RoleAuditor     Role = "auditor"     // read history and listings
)

// caller is who submitted the transaction.
type caller struct {
	msp  string
	role Role
}

func callerOf(ctx contractapi.TransactionContextInterface) (caller, error) {
	id := ctx.GetClientIdentity()
	msp, err := id.GetMSPID()
	if err != nil {
		return caller{}, refuse(ledger.CodeForbidden, "cannot read the client's MSP ID: %v", err)
	}
	role, _, err := id.GetAttributeValue(RoleAttribute)
	if err != nil {
		return caller{}, refuse(ledger.CodeForbidden, "cannot read the client's %s attribute: %v", RoleAttribute, err)
	}
	return caller{msp: msp, role: Role(role)}, nil
}

// require refuses a caller whose role is not one of roles.
func (c caller) require(action string, roles ...Role) error {
	for _, r := range roles {
		if c.role == r {
			return nil
		}
	}
	if c.role == "" {
		return refuse(ledger.CodeForbidden, "%s needs a %s certificate attribute (%v); the client from %s has none", action, RoleAttribute, roles, c.msp)
	}
	return refuse(ledger.CodeForbidden, "%s needs role %v; the client from %s has role %q", action, roles, c.msp, c.role)
}

// requireOwner refuses a caller from another org than the entry's owner.
func (c caller) requireOwner(action, key, owner string) error {
	if c.msp != owner {
		return refuse(ledger.CodeForbidden, "%s of %s: the key is owned by %s, the client is from %s", action, key, owner, c.msp)
	}
	return nil
}
