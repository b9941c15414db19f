package produce_test

import (
	"fmt"

	"github.com/cachetsync/cachet/produce"
	"github.com/cachetsync/cachet/record"
)

// A hand-written purge line becomes the message the relay would write: the
// current schema version added, keyed by its scope.
func ExampleMessage() {
	m, err := produce.Message(record.TopicPurges, []byte(`{"scope":"tag","value":"catalog","owner":"Org1MSP","generation":2,"txId":"t1"}`))
	if err != nil {
		panic(err)
	}
	fmt.Println(m.Topic, string(m.Key), produce.KindOf(m.Topic))
	// Output: cachet.purges tag:catalog purge
}
