package policy_test

import (
	"fmt"
	"time"

	"github.com/cachetsync/cachet/analytics/policy"
)

// A key written in bursts: the age rule learns to cap the model's
// max-age right after a write.
func Example() {
	c, err := policy.New(policy.DefaultConfig())
	if err != nil {
		panic(err)
	}
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	sec := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	const key, lam = 0, 0.02 // the model's rate: two writes per 100 s
	for burst := 0.0; burst < 3000; burst += 100 {
		c.Write(key, sec(burst))
		c.Read(key, sec(burst+0.2), lam, 0.2) // will it change within the model's max-age? it will
		c.Write(key, sec(burst+0.5))
		c.Read(key, sec(burst+50), lam, 49.5) // it will not
	}
	fmt.Println("age rule:", c.AgeRule(key))
	fmt.Println("max-age 0.3 s after a write:", c.MaxAge(key, 2, 0.3), "s (the model's: 2 s)")
	// Output:
	// age rule: true
	// max-age 0.3 s after a write: 1 s (the model's: 2 s)
}
