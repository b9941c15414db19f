package receipt_test

import (
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"google.golang.org/protobuf/proto"

	"github.com/cachetsync/cachet/receipt"
)

// An auditor holds a copy of the channel's configuration block, obtained
// once from a party it trusts, and checks receipts it is handed, offline.
func ExampleVerify() {
	cfgBytes, err := os.ReadFile("../testdata/receipt/config.block")
	if err != nil {
		log.Fatal(err)
	}
	var cfgBlock common.Block
	if err := proto.Unmarshal(cfgBytes, &cfgBlock); err != nil {
		log.Fatal(err)
	}
	cfg, err := receipt.ParseConfigBlock(&cfgBlock)
	if err != nil {
		log.Fatal(err)
	}

	b, err := os.ReadFile("../testdata/receipt/invalidate.json")
	if err != nil {
		log.Fatal(err)
	}
	r, err := receipt.Decode(b)
	if err != nil {
		log.Fatal(err)
	}
	proof, err := receipt.Verify(r, receipt.Trust{Config: cfg})
	if err != nil {
		log.Fatal(err) // a *receipt.CheckError names the check that failed
	}
	fmt.Printf("who: %s %s (%s)\n", proof.Creator.MSPID, proof.Creator.Role, proof.Creator.Subject)
	for _, tr := range proof.Event.Transitions {
		fmt.Printf("what: %s %s to version %d (%s), owner %s\n", tr.Op, tr.Key, tr.Version, tr.State, tr.Owner)
	}
	fmt.Println("when:", proof.Timestamp.UTC().Format("2006-01-02T15:04:05Z"))
	for _, e := range proof.Endorsers {
		fmt.Println("endorsed by:", e.MSPID, e.Subject)
	}
	for _, p := range proof.Policies {
		fmt.Printf("policy of %s: %s, set by %s\n", p.Key, p.Policy, p.Source)
	}
	fmt.Println("ordered by:", proof.Orderers[0].MSPID, "in block", proof.Block)
	// Output:
	// who: Org2MSP invalidator (CN=invalidator@org2.example.com,OU=client,L=San Francisco,ST=California,C=US)
	// what: invalidate https://shop.example/receipt/item?id=7 to version 2 (INVALIDATED), owner Org1MSP
	// when: 2026-12-02T17:15:33Z
	// endorsed by: Org1MSP CN=peer0.org1.example.com,OU=peer,L=San Francisco,ST=California,C=US
	// policy of https://shop.example/receipt/item?id=7: 'Org1MSP.peer', set by transaction 884a6396ab110474b48871c308a280eb1473b095dcc84f6d55e08c64d0dd37d2 (block 4)
	// ordered by: OrdererMSP in block 6
}

// A receipt refused by a check: the error names it.
func ExampleCheckError() {
	b, err := os.ReadFile("../testdata/receipt/refused.json")
	if err != nil {
		log.Fatal(err)
	}
	r, err := receipt.Decode(b)
	if err != nil {
		log.Fatal(err)
	}
	_, err = receipt.Verify(r, receipt.Trust{})
	var ce *receipt.CheckError
	if errors.As(err, &ce) {
		fmt.Println("refused by the", ce.Check, "check")
	}
	// Output: refused by the channel-config check
}
