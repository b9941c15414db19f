package chaincode

import (
	"encoding/json"
	"strconv"
	"sync"

	"github.com/cachetsync/cachet/ledger"
	"github.com/hyperledger/fabric-chaincode-go/v2/pkg/cid"
	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
)

// The invalidation transactions are the contract's hot path. contractapi
// spends most of their CPU outside the contract: it checks every decoded
// argument and every answer against a JSON schema (gojsonschema, which walks
// a 1,000-key batch element by element) and parses the caller's certificate
// again in every transaction. fastInvoke runs them directly when their
// arguments decode cleanly, with contractapi's own conversions, so the
// values, the answers and the refusals are the same; anything else (an
// argument contractapi would refuse, a certificate that does not parse) goes
// through contractapi, which words the refusal.
var fastTx = map[string]func(c *Contract, ctx contractapi.TransactionContextInterface, params []string) (any, bool, error){
	ledger.TxInvalidate: func(c *Contract, ctx contractapi.TransactionContextInterface, p []string) (any, bool, error) {
		v, ok := uint64Arg(p[2])
		if !ok {
			return nil, false, nil
		}
		e, err := c.Invalidate(ctx, p[0], p[1], v)
		return e, true, err
	},
	ledger.TxInvalidateSoft: func(c *Contract, ctx contractapi.TransactionContextInterface, p []string) (any, bool, error) {
		v, ok := uint64Arg(p[2])
		if !ok {
			return nil, false, nil
		}
		e, err := c.InvalidateSoft(ctx, p[0], p[1], v)
		return e, true, err
	},
	ledger.TxInvalidateBatch: func(c *Contract, ctx contractapi.TransactionContextInterface, p []string) (any, bool, error) {
		var keys []string
		if err := json.Unmarshal([]byte(p[0]), &keys); err != nil || keys == nil {
			return nil, false, nil // contractapi refuses both (null fails its schema)
		}
		r, err := c.InvalidateBatch(ctx, keys, p[1])
		return r, true, err
	},
}

// uint64Arg converts as contractapi does: "" is 0, otherwise a decimal.
func uint64Arg(s string) (uint64, bool) {
	if s == "" {
		return 0, true
	}
	v, err := strconv.ParseUint(s, 10, 64)
	return v, err == nil
}

// fastInvoke runs fn if it is a hot-path transaction whose arguments decode;
// ok is false when contractapi must run it instead. The arity is checked.
func (c *Chaincode) fastInvoke(stub shim.ChaincodeStubInterface, fn string, params []string) (*peer.Response, bool) {
	tx, found := fastTx[fn]
	if !found {
		return nil, false
	}
	id, err := c.ids.identity(stub)
	if err != nil {
		return nil, false
	}
	ctx := &contractapi.TransactionContext{}
	ctx.SetStub(stub)
	ctx.SetClientIdentity(id)
	out, ok, err := tx(c.contract, ctx, params)
	if !ok {
		return nil, false
	}
	if err != nil {
		return shim.Error(err.Error()), true
	}
	b, err := json.Marshal(out)
	if err != nil {
		return shim.Error(err.Error()), true
	}
	return shim.Success(b), true
}

// identities caches parsed client identities by the creator's serialized
// bytes: a pure function of those bytes, so caching it keeps the contract
// deterministic. It forgets everything when it holds maxIdentities.
type identities struct {
	mu sync.Mutex
	m  map[string]*cid.ClientID
}

const maxIdentities = 1024

func (ids *identities) identity(stub shim.ChaincodeStubInterface) (*cid.ClientID, error) {
	creator, err := stub.GetCreator()
	if err != nil {
		return nil, err
	}
	ids.mu.Lock()
	id := ids.m[string(creator)]
	ids.mu.Unlock()
	if id != nil {
		return id, nil
	}
	if id, err = cid.New(stub); err != nil {
		return nil, err
	}
	ids.mu.Lock()
	if ids.m == nil || len(ids.m) >= maxIdentities {
		ids.m = make(map[string]*cid.ClientID)
	}
	ids.m[string(creator)] = id
	ids.mu.Unlock()
	return id, nil
}
