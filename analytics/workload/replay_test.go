package workload

import (
	"strings"
	"testing"
	"time"
)

func TestFromTransitions(t *testing.T) {
	in := `{"v":1,"txId":"a","ts":"2026-11-25T10:00:10Z","key":"k2","version":1,"state":"VALID","owner":"Org2MSP","actor":"Org2MSP"}
{"v":1,"txId":"b","ts":"2026-11-25T10:00:00Z","key":"k1","version":1,"state":"VALID","owner":"Org1MSP","actor":"Org1MSP"}

{"v":1,"txId":"c","ts":"2026-11-25T10:01:40Z","key":"k1","version":2,"state":"INVALIDATED","owner":"Org1MSP","actor":"Org2MSP"}
`
	trs, err := ReadTransitions(strings.NewReader(in))
	if err != nil || len(trs) != 3 {
		t.Fatalf("read %d transitions, %v", len(trs), err)
	}
	c := Default()
	c.Clients, c.ReadsPerSec = 10, 5
	w, err := FromTransitions(trs, c)
	if err != nil {
		t.Fatal(err)
	}
	if w.Config.Keys != 2 || w.Config.Orgs != 2 || w.Config.Duration != 100*time.Second || w.KeyName(0) != "k1" || w.KeyName(1) != "k2" {
		t.Fatalf("config %+v, names %v", w.Config, w.Names)
	}
	var writes []Event
	reads := 0
	for i, e := range w.Events {
		if i > 0 && e.At < w.Events[i-1].At {
			t.Fatal("events out of order")
		}
		if e.Kind == Write {
			writes = append(writes, e)
		} else {
			reads++
		}
	}
	want := []Event{{At: 0, Kind: Write, Key: 0, Org: 0}, {At: 10, Kind: Write, Key: 1, Org: 1}, {At: 100, Kind: Write, Key: 0, Org: 1}}
	for i := range want {
		if writes[i] != want[i] {
			t.Errorf("write %d = %+v, want %+v", i, writes[i], want[i])
		}
	}
	if reads < 350 || reads > 650 { // 5/s over 100 s
		t.Errorf("%d reads synthesized, want about 500", reads)
	}
	if _, err := ReadTransitions(strings.NewReader("{\"v\":1}\nnot json\n")); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("bad input: %v, want an error naming line 1", err)
	}
	if _, err := FromTransitions(trs[:1], c); err == nil {
		t.Error("one transition of one key: want an error")
	}
}
