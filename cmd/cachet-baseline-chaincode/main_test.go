package main

import (
	"strings"
	"testing"
	"time"

	"github.com/cachetsync/cachet/chaincode/chaincodetest"
)

func TestPut(t *testing.T) {
	l := chaincodetest.NewLedger(time.Unix(0, 0))
	id := chaincodetest.Identity{MSPID: "Org1MSP"}
	tests := []struct {
		name   string
		args   []string
		status int32
		writes int
	}{
		{"put", []string{"Put", "img:a"}, 200, 1},
		{"no key", []string{"Put"}, 500, 0},
		{"empty key", []string{"Put", ""}, 500, 0},
		{"two keys", []string{"Put", "img:a", "img:b"}, 500, 0},
		{"other function", []string{"Invalidate", "img:a"}, 500, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := l.Invoke(baseline{}, id, nil, tt.args...)
			if r.Status != tt.status || r.Writes != tt.writes {
				t.Fatalf("status %d, %d writes (%s); want %d, %d", r.Status, r.Writes, r.Message, tt.status, tt.writes)
			}
			if r.Event != nil {
				t.Fatalf("event %q: the baseline emits none", r.Event.Name)
			}
		})
	}
	if got := string(l.State("img:a")); got != "img:a" {
		t.Fatalf("state of img:a = %q", got)
	}
}

func TestRunNeedsServiceSettings(t *testing.T) {
	err := run(func(string) string { return "" })
	if err == nil || !strings.Contains(err.Error(), "CHAINCODE_SERVER_ADDRESS") {
		t.Fatalf("run without settings: %v", err)
	}
}
