package receipt

import (
	"errors"
	"testing"
)

func TestDescribeRecordedTransactions(t *testing.T) {
	tests := []struct {
		file, creatorMSP, role, op, endorserMSP string
		setsPolicy                              bool
	}{
		{"publish.json", "Org1MSP", "publisher", "publish", "Org1MSP", true},
		{"invalidate.json", "Org2MSP", "invalidator", "invalidate", "Org1MSP", false},
		{"refused.json", "Org2MSP", "invalidator", "invalidate", "Org2MSP", false},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			r := readReceipt(t, tt.file)
			d, err := Describe(r.Envelope)
			if err != nil {
				t.Fatal(err)
			}
			if d.TxID != r.TxID || d.Channel != r.Channel || d.Chaincode != "cachet" {
				t.Errorf("describes %s on %s (%s), receipt holds %s on %s", d.TxID, d.Channel, d.Chaincode, r.TxID, r.Channel)
			}
			if d.Creator.MSPID != tt.creatorMSP || d.Creator.Role != tt.role || d.Creator.Subject == "" {
				t.Errorf("creator %+v, want %s with role %s", d.Creator, tt.creatorMSP, tt.role)
			}
			if len(d.Endorsers) == 0 || d.Endorsers[0].MSPID != tt.endorserMSP {
				t.Errorf("endorsers %+v, want first of %s", d.Endorsers, tt.endorserMSP)
			}
			if d.Event == nil || len(d.Event.Transitions) != 1 || string(d.Event.Transitions[0].Op) != tt.op {
				t.Fatalf("event %+v, want one %s", d.Event, tt.op)
			}
			key := d.Event.Transitions[0].Key
			if !contains(d.Writes, key) {
				t.Errorf("writes %v, not %s", d.Writes, key)
			}
			if _, ok := d.SetsPolicy[key]; ok != tt.setsPolicy {
				t.Errorf("sets policy on %s: %v, want %v (%v)", key, ok, tt.setsPolicy, d.SetsPolicy)
			}
		})
	}
}

func TestDescribeRefusesGarbage(t *testing.T) {
	_, err := Describe([]byte("not an envelope"))
	var ce *CheckError
	if !errors.As(err, &ce) || ce.Check != CheckDecode {
		t.Fatalf("got %v, want a decode CheckError", err)
	}
}
