package chaincode

import (
	"reflect"
	"strings"

	"github.com/cachetsync/cachet/ledger"
	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
)

// Chaincode is the contract as Fabric runs it: contractapi's chaincode with
// argument checks that give its own refusals a code too. contractapi answers
// a wrong argument count, JSON that does not parse or an unknown function
// with a bare sentence, and ignores surplus arguments; Chaincode refuses all
// of these with INVALID_ARGUMENT, so a client can rely on the code.
type Chaincode struct {
	*contractapi.ContractChaincode
	contract *Contract
	ids      identities
}

// New returns the chaincode with Contract as its default contract, so
// transactions are invoked by their bare names ("Publish").
func New() (*Chaincode, error) {
	c := &Contract{}
	c.Name = "cachet"
	c.Info.Title = "Cachet cache state"
	c.Info.Version = "1.0.0"
	cc, err := contractapi.NewChaincode(c)
	if err != nil {
		return nil, err
	}
	return &Chaincode{ContractChaincode: cc, contract: c}, nil
}

// arity is the number of string arguments each transaction takes: the
// method's parameters less the receiver and the transaction context.
var arity = func() map[string]int {
	m := map[string]int{}
	t := reflect.TypeFor[*Contract]()
	ctx := reflect.TypeFor[contractapi.TransactionContextInterface]()
	for i := range t.NumMethod() {
		mt := t.Method(i).Type
		if mt.NumIn() >= 2 && mt.In(1) == ctx {
			m[t.Method(i).Name] = mt.NumIn() - 2
		}
	}
	return m
}()

// contractapi's messages for arguments it could not decode or route.
var decodingFailures = []string{
	"incorrect number of params", "error managing parameter", "Function ", "Blank function name", "Contract not found",
}

// Invoke runs one transaction; see Chaincode.
func (c *Chaincode) Invoke(stub shim.ChaincodeStubInterface) *peer.Response {
	fn, params := stub.GetFunctionAndParameters()
	if n, ok := arity[fn]; ok && len(params) != n {
		return shim.Error(refuse(ledger.CodeInvalidArgument, "%s takes %d arguments, got %d", fn, n, len(params)).Error())
	}
	resp, fast := c.fastInvoke(stub, fn, params)
	if !fast {
		resp = c.ContractChaincode.Invoke(stub)
	}
	if resp.GetStatus() != shim.OK && !hasCode(resp.GetMessage()) {
		for _, prefix := range decodingFailures {
			if strings.HasPrefix(resp.GetMessage(), prefix) {
				resp.Message = string(ledger.CodeInvalidArgument) + ": " + resp.GetMessage()
				break
			}
		}
	}
	return resp
}

// Start runs the chaincode the classic way, as a process the peer launched.
func (c *Chaincode) Start() error { return shim.Start(c) }

func hasCode(msg string) bool {
	for _, code := range ledger.Codes() {
		if strings.HasPrefix(msg, string(code)+": ") {
			return true
		}
	}
	return false
}
