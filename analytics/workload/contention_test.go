package workload

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cachetsync/cachet/record"
)

// TestGenerateContention: the stream is the seed's alone, every key's
// committed versions count up from 1 without a gap, both orgs write and
// lose, and losses are a minority that the shared hot keys produce.
func TestGenerateContention(t *testing.T) {
	c := Contention()
	c.Duration = 2 * time.Minute
	trs, cfs, err := GenerateContention(c)
	if err != nil {
		t.Fatal(err)
	}
	again, againC, _ := GenerateContention(c)
	if !reflect.DeepEqual(trs, again) || !reflect.DeepEqual(cfs, againC) {
		t.Fatal("the same config generated two streams")
	}
	version := map[string]uint64{}
	actors, creators := map[string]bool{}, map[string]bool{}
	end := c.Start.Add(c.Duration)
	for _, tr := range trs {
		if tr.Validate() != nil || tr.Version != version[tr.Key]+1 || tr.Timestamp.Before(c.Start) || tr.Timestamp.After(end) {
			t.Fatalf("transition %+v after version %d", tr, version[tr.Key])
		}
		version[tr.Key] = tr.Version
		actors[tr.Actor] = true
	}
	for _, cf := range cfs {
		if cf.Validate() != nil || !cf.Contention() || len(cf.Keys) != 1 || version[cf.Keys[0]] == 0 {
			t.Fatalf("conflict %+v of a key never committed", cf)
		}
		creators[cf.Creator] = true
	}
	share := float64(len(cfs)) / float64(len(cfs)+len(trs))
	if len(actors) != 2 || len(creators) != 2 || !(share > 0.02 && share < 0.5) {
		t.Fatalf("writers %v, losers %v, %d of %d writes lost", actors, creators, len(cfs), len(cfs)+len(trs))
	}
	if _, _, err := GenerateContention(ContentionConfig{}); err == nil {
		t.Fatal("an empty config generated a stream")
	}
}

func TestReadConflicts(t *testing.T) {
	cfs, err := ReadConflicts(strings.NewReader(`{"v":1,"txId":"a","ts":"2026-11-25T10:00:10Z","code":"MVCC_READ_CONFLICT","keys":["k"],"creator":"Org2MSP"}` + "\n\n"))
	if err != nil || len(cfs) != 1 || cfs[0].Keys[0] != "k" || cfs[0].Code != record.CodeMVCCReadConflict {
		t.Fatalf("read %+v, %v", cfs, err)
	}
	if _, err := ReadConflicts(strings.NewReader(`{"v":1,"ts":"2026-11-25T10:00:10Z","code":"MVCC_READ_CONFLICT"}`)); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("a conflict without a txId: %v", err)
	}
	// The stream recorded on the real network reads whole.
	f, err := os.Open(filepath.Join("..", "..", "testdata", "analytics", "contention_conflicts.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if cfs, err := ReadConflicts(f); err != nil || len(cfs) < 100 {
		t.Fatalf("recorded conflicts: %d, %v", len(cfs), err)
	}
}
