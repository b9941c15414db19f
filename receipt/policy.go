package receipt

import (
	"fmt"
	"strings"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/msp"
	"google.golang.org/protobuf/proto"
)

// Policy is a Fabric policy Verify can evaluate: a signature policy, or an
// implicit-meta policy over the policies of the same name of a group's
// organizations.
type Policy interface {
	// String renders the policy in Fabric's policy language, e.g.
	// OR('Org1MSP.peer','Org2MSP.peer') or ANY Writers.
	String() string
	eval(signers []*signer) bool
}

// SignaturePolicy wraps a SignaturePolicyEnvelope (Fabric's Signature
// policy type, and the form of key-level endorsement policies).
type SignaturePolicy struct {
	Envelope *common.SignaturePolicyEnvelope
}

// ParseSignaturePolicy reads a serialized SignaturePolicyEnvelope.
func ParseSignaturePolicy(b []byte) (*SignaturePolicy, error) {
	var env common.SignaturePolicyEnvelope
	if err := proto.Unmarshal(b, &env); err != nil {
		return nil, fmt.Errorf("signature policy: %w", err)
	}
	if env.GetRule() == nil {
		return nil, fmt.Errorf("signature policy has no rule")
	}
	return &SignaturePolicy{Envelope: &env}, nil
}

func (p *SignaturePolicy) eval(signers []*signer) bool {
	used := make([]bool, len(signers))
	return p.evalRule(p.Envelope.GetRule(), signers, used, 0)
}

// evalRule follows Fabric's rule: each signer satisfies at most one
// SignedBy, and an n-out-of keeps the signers a satisfied branch used.
func (p *SignaturePolicy) evalRule(r *common.SignaturePolicy, signers []*signer, used []bool, depth int) bool {
	if depth > 32 {
		return false
	}
	switch t := r.GetType().(type) {
	case *common.SignaturePolicy_SignedBy:
		ids := p.Envelope.GetIdentities()
		if t.SignedBy < 0 || int(t.SignedBy) >= len(ids) {
			return false
		}
		for i, s := range signers {
			if !used[i] && s.satisfies(ids[t.SignedBy]) {
				used[i] = true
				return true
			}
		}
	case *common.SignaturePolicy_NOutOf_:
		n := 0
		for _, sub := range t.NOutOf.GetRules() {
			try := append([]bool(nil), used...)
			if p.evalRule(sub, signers, try, depth+1) {
				copy(used, try)
				n++
			}
		}
		return n >= int(t.NOutOf.GetN())
	}
	return false
}

func (p *SignaturePolicy) String() string { return p.render(p.Envelope.GetRule(), 0) }

func (p *SignaturePolicy) render(r *common.SignaturePolicy, depth int) string {
	if depth > 32 {
		return "…"
	}
	switch t := r.GetType().(type) {
	case *common.SignaturePolicy_SignedBy:
		ids := p.Envelope.GetIdentities()
		if t.SignedBy < 0 || int(t.SignedBy) >= len(ids) {
			return "'?'"
		}
		return principalString(ids[t.SignedBy])
	case *common.SignaturePolicy_NOutOf_:
		rules := t.NOutOf.GetRules()
		parts := make([]string, len(rules))
		for i, sub := range rules {
			parts[i] = p.render(sub, depth+1)
		}
		switch n := int(t.NOutOf.GetN()); {
		case n == 1 && len(rules) == 1:
			return parts[0]
		case n == 1:
			return "OR(" + strings.Join(parts, ",") + ")"
		case n == len(rules):
			return "AND(" + strings.Join(parts, ",") + ")"
		default:
			return fmt.Sprintf("OutOf(%d,%s)", n, strings.Join(parts, ","))
		}
	}
	return "?"
}

func principalString(p *msp.MSPPrincipal) string {
	if p.GetPrincipalClassification() == msp.MSPPrincipal_ROLE {
		var r msp.MSPRole
		if proto.Unmarshal(p.GetPrincipal(), &r) == nil {
			return fmt.Sprintf("'%s.%s'", r.GetMspIdentifier(), strings.ToLower(r.GetRole().String()))
		}
	}
	return fmt.Sprintf("'%s principal'", strings.ToLower(p.GetPrincipalClassification().String()))
}

// ImplicitMetaPolicy is satisfied when ANY, ALL or a MAJORITY of its
// sub-policies (one per organization of a configuration group) are.
type ImplicitMetaPolicy struct {
	Rule      common.ImplicitMetaPolicy_Rule
	SubPolicy string
	Subs      []Policy
}

func (p *ImplicitMetaPolicy) eval(signers []*signer) bool {
	n := 0
	for _, s := range p.Subs {
		if s.eval(signers) {
			n++
		}
	}
	switch p.Rule {
	case common.ImplicitMetaPolicy_ANY:
		return n >= 1
	case common.ImplicitMetaPolicy_ALL:
		return n == len(p.Subs)
	case common.ImplicitMetaPolicy_MAJORITY:
		return n > len(p.Subs)/2
	}
	return false
}

func (p *ImplicitMetaPolicy) String() string {
	subs := make([]string, len(p.Subs))
	for i, s := range p.Subs {
		subs[i] = s.String()
	}
	return fmt.Sprintf("%s %s [%s]", p.Rule, p.SubPolicy, strings.Join(subs, "; "))
}
