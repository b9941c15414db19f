package record_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/cachetsync/cachet/record"
)

// A transition is encoded with the current schema version and decoded back,
// validated, by a consumer.
func ExampleDecodeTransition() {
	t := record.Transition{
		Channel:   "cachet",
		Position:  record.Position{Block: 42, TxIndex: 3},
		TxID:      "9f2c",
		Timestamp: time.Date(2026, 11, 25, 6, 41, 0, 123e6, time.UTC),
		Key:       "https://shop.example/cart",
		Version:   4,
		State:     record.StateInvalidated,
		Owner:     "Org1MSP",
		Actor:     "Org2MSP",
		Reason:    "price change",
	}
	b, err := t.Marshal()
	if err != nil {
		panic(err)
	}
	fmt.Println(string(b))

	back, err := record.DecodeTransition(b)
	if err != nil {
		panic(err)
	}
	fmt.Println(back.Key, back.Version, back.State, "at", back.Position)
	// Output:
	// {"v":1,"channel":"cachet","block":42,"txIndex":3,"txId":"9f2c","ts":"2026-11-25T06:41:00.123Z","key":"https://shop.example/cart","version":4,"state":"INVALIDATED","owner":"Org1MSP","actor":"Org2MSP","reason":"price change"}
	// https://shop.example/cart 4 INVALIDATED at 42:3
}

// A record of a schema version the decoder does not know is refused, not
// guessed at.
func ExampleUnsupportedVersionError() {
	_, err := record.DecodeTransition([]byte(`{"v":9,"key":"img:a","version":1,"state":"VALID","txId":"t"}`))
	var uv *record.UnsupportedVersionError
	fmt.Println(errors.As(err, &uv), uv.Got)
	// Output: true 9
}
