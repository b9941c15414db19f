package audit

import (
	"context"
	"fmt"
	"log"
	"strings"
)

// A key's trail with the refused attempts, here over the blocks recorded on
// a local network (a client passes its *gateway.Client as the Ledger).
func ExampleTrail() {
	l, err := loadRecorded()
	if err != nil {
		log.Fatal(err)
	}
	recs, err := Trail(context.Background(), l, "https://shop.example/receipt/item?id=7", Options{IncludeInvalid: true})
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range recs {
		line := fmt.Sprintf("block %d: %s v%d %s by %s %s, endorsed by %s, policy %s %s", r.Block, r.Op, r.Version, r.Validation,
			r.Submitter.Org, r.Submitter.Role, r.Endorsers[0].Org, r.Policy.Source, r.Policy.Rule)
		fmt.Println(strings.TrimSpace(line))
	}
	// Output:
	// block 4: publish v1 VALID by Org1MSP publisher, endorsed by Org1MSP, policy chaincode
	// block 5: invalidate v2 ENDORSEMENT_POLICY_FAILURE by Org2MSP invalidator, endorsed by Org2MSP, policy key-level 'Org1MSP.peer'
	// block 6: invalidate v2 VALID by Org2MSP invalidator, endorsed by Org1MSP, policy key-level 'Org1MSP.peer'
}
