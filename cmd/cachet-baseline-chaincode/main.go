// Command cachet-baseline-chaincode serves the trivial contract that the
// network benchmark holds Cachet's contract against: each transaction is
// one PutState of its argument and nothing else (no reads, no event, no
// identity checks). It runs as chaincode-as-a-service like cachet-chaincode,
// under its own chaincode name ("baseline"), with the same endorsement
// policy, so that the difference between the two is the contract's own cost.
//
//	CHAINCODE_SERVER_ADDRESS=127.0.0.1:27301 CHAINCODE_ID=baseline_1:… cachet-baseline-chaincode
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
)

// Put is the one transaction: Put(key) stores key under key.
const Put = "Put"

// baseline is the trivial put contract.
type baseline struct{}

// Init does nothing: Fabric's lifecycle no longer calls it unless asked.
func (baseline) Init(shim.ChaincodeStubInterface) *peer.Response { return shim.Success(nil) }

// Invoke stores the argument under itself.
func (baseline) Invoke(stub shim.ChaincodeStubInterface) *peer.Response {
	fn, args := stub.GetFunctionAndParameters()
	if fn != Put || len(args) != 1 || args[0] == "" {
		return shim.Error(fmt.Sprintf("baseline: the only transaction is %s(key), got %s with %d arguments", Put, fn, len(args)))
	}
	if err := stub.PutState(args[0], []byte(args[0])); err != nil {
		return shim.Error(err.Error())
	}
	return shim.Success(nil)
}

func main() {
	if err := run(os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "cachet-baseline-chaincode:", err)
		os.Exit(1)
	}
}

func run(getenv func(string) string) error {
	addr, id := getenv("CHAINCODE_SERVER_ADDRESS"), getenv("CHAINCODE_ID")
	if addr == "" || id == "" {
		return errors.New("set CHAINCODE_SERVER_ADDRESS and CHAINCODE_ID (it runs only as a service)")
	}
	srv := &shim.ChaincodeServer{CCID: id, Address: addr, CC: baseline{}, TLSProps: shim.TLSProperties{Disabled: true}}
	return srv.Start()
}
