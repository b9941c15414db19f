package receipt

import (
	"fmt"

	"github.com/hyperledger/fabric-protos-go-apiv2/ledger/rwset/kvrwset"
)

// checkEndorsementPolicy proves, for every key the transaction writes, that
// the endorsers satisfy each policy known to govern it: the policy the
// transaction itself sets (the new owner's), the policy an earlier
// transaction set (a source receipt, verified in full), or else the
// chaincode definition's policy from trust. A key with none of them fails.
//
// Fabric judges a write by the policy in force before the transaction, and
// a key's policy can only change with the endorsement of the policy it
// replaces; so a VALID transaction that satisfies a policy an earlier
// transaction set was endorsed as that policy required when it was set.
func (r *Receipt) checkEndorsementPolicy(env *envelope, endorsers []*signer, sources []KeyPolicySource, trust Trust) ([]KeyPolicy, error) {
	ns := env.cca.GetChaincodeId().GetName()
	for _, other := range env.spaces {
		if other != ns && written(env.rwsets[other]) {
			return nil, fail(CheckEndorsementPolicy, "transaction writes namespace %s besides its chaincode %s", other, ns)
		}
	}
	set, keys := setPolicies(env.rwsets[ns])
	type known struct {
		kp KeyPolicy
		p  Policy
	}
	from := map[string]known{}
	for _, s := range sources {
		if !contains(keys, s.Key) {
			return nil, fail(CheckEndorsementPolicy, "a policy source is given for %q, which the transaction does not write", s.Key)
		}
		kp, p, err := r.sourcePolicy(s, ns, trust)
		if err != nil {
			return nil, err
		}
		from[s.Key] = known{kp, p}
	}
	var out []KeyPolicy
	for _, key := range keys {
		var checks []KeyPolicy
		var pols []Policy
		if b, ok := set[key]; ok {
			p, err := ParseSignaturePolicy(b)
			if err != nil {
				return nil, fail(CheckEndorsementPolicy, "policy set on %q: %v", key, err)
			}
			checks, pols = append(checks, KeyPolicy{Key: key, Policy: p.String(), Source: "this transaction"}), append(pols, p)
		}
		if k, ok := from[key]; ok {
			checks, pols = append(checks, k.kp), append(pols, k.p)
		} else if trust.ChaincodePolicy != nil {
			checks, pols = append(checks, KeyPolicy{Key: key, Policy: trust.ChaincodePolicy.String(), Source: "chaincode definition"}), append(pols, trust.ChaincodePolicy)
		}
		if len(pols) == 0 {
			return nil, fail(CheckEndorsementPolicy, "no endorsement policy known for key %q (no source receipt, no chaincode policy)", key)
		}
		for i, p := range pols {
			if !p.eval(endorsers) {
				return nil, fail(CheckEndorsementPolicy, "endorsers of %s do not satisfy %s, set by %s, for key %q", r.TxID, checks[i].Policy, checks[i].Source, key)
			}
		}
		out = append(out, checks...)
	}
	return out, nil
}

// sourcePolicy verifies a source receipt in full and returns the policy its
// transaction set on the key.
func (r *Receipt) sourcePolicy(s KeyPolicySource, ns string, trust Trust) (KeyPolicy, Policy, error) {
	src := s.Receipt
	if !before(position(src), position(r)) {
		return KeyPolicy{}, nil, fail(CheckEndorsementPolicy, "policy source of %q (block %d, tx %d) does not precede the transaction", s.Key, src.Block.Number, src.TxIndex)
	}
	if _, err := verify(src, trust, false); err != nil {
		return KeyPolicy{}, nil, fmt.Errorf("policy source of %q: %w", s.Key, err)
	}
	env, err := unmarshalEnvelope(src.Envelope)
	if err != nil {
		return KeyPolicy{}, nil, err
	}
	set, _ := setPolicies(env.rwsets[ns])
	b, ok := set[s.Key]
	if !ok || env.cca.GetChaincodeId().GetName() != ns {
		return KeyPolicy{}, nil, fail(CheckEndorsementPolicy, "policy source %s does not set the policy of %q in %s", src.TxID, s.Key, ns)
	}
	p, err := ParseSignaturePolicy(b)
	if err != nil {
		return KeyPolicy{}, nil, fail(CheckEndorsementPolicy, "policy set on %q by %s: %v", s.Key, src.TxID, err)
	}
	return KeyPolicy{Key: s.Key, Policy: p.String(), Source: fmt.Sprintf("transaction %s (block %d)", src.TxID, src.Block.Number)}, p, nil
}

// setPolicies returns the endorsement policies a write set sets, by key,
// and every key it writes (values, deletes or metadata), in order.
func setPolicies(kv *kvrwset.KVRWSet) (map[string][]byte, []string) {
	set := map[string][]byte{}
	var keys []string
	for _, w := range kv.GetWrites() {
		if !contains(keys, w.GetKey()) {
			keys = append(keys, w.GetKey())
		}
	}
	for _, mw := range kv.GetMetadataWrites() {
		if !contains(keys, mw.GetKey()) {
			keys = append(keys, mw.GetKey())
		}
		for _, e := range mw.GetEntries() {
			if e.GetName() == validationParameter {
				set[mw.GetKey()] = e.GetValue()
			}
		}
	}
	return set, keys
}

func written(kv *kvrwset.KVRWSet) bool { return len(kv.GetWrites())+len(kv.GetMetadataWrites()) > 0 }

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
