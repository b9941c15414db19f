package chaincode

import (
	"slices"

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
	RoleAdmin       Role = "admin"       // claim and release hosts, purge scopes
)

// adminOU is the organizational unit of Fabric's admin NodeOU: its
// certificates are admins whatever their cachet.role.
const adminOU = "admin"

// caller is who submitted the transaction.
type caller struct {
	msp   string
	role  Role
	admin bool // role admin, or a certificate of the admin NodeOU
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
	c := caller{msp: msp, role: Role(role), admin: Role(role) == RoleAdmin}
	if cert, err := id.GetX509Certificate(); err == nil && cert != nil {
		c.admin = c.admin || slices.Contains(cert.Subject.OrganizationalUnit, adminOU)
	}
	return c, nil
}

// requireAdmin refuses a caller that is not an admin of its org.
func (c caller) requireAdmin(action string) error {
	if c.admin {
		return nil
	}
	return refuse(ledger.CodeForbidden, "%s needs an admin of the org (%s %s or the admin NodeOU); the client from %s has role %q", action, RoleAttribute, RoleAdmin, c.msp, c.role)
}

// require refuses a caller whose role is not one of roles.
func (c caller) require(action string, roles ...Role) error {
	for _, r := range roles {
		if c.role == r || r == RoleAdmin && c.admin {
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
