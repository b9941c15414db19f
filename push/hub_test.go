package push

import (
	"fmt"
	"testing"
	"time"

	"github.com/cachetsync/cachet/record"
)

// TestHubWakesAfterRun: the frames of a run of records are queued before
// any writer is woken, and each writer is woken once for the run; a
// session on no channel of the records is not woken.
func TestHubWakesAfterRun(t *testing.T) {
	h := newHub(Epoch("test", 1), []int64{0}, 1, 16, newMetrics())
	kicks := map[string]int{}
	var sessions []*session
	for _, ch := range []string{"origin:https://shop.example", "origin:https://shop.example", "origin:https://news.example"} {
		s := newSession(fmt.Sprint(len(sessions)), "ws", []string{ch}, 100, time.Minute)
		s.kick = func() { kicks[s.id]++ }
		h.registerLocked(s)
		sessions = append(sessions, s)
	}
	for off := range int64(3) {
		v, _ := record.Transition{TxID: fmt.Sprint("tx", off), Key: fmt.Sprint("https://shop.example/", off), Version: uint64(off + 1),
			State: record.StateInvalidated, Owner: "Org1MSP", Actor: "Org1MSP"}.Marshal()
		h.process(0, off, v, "")
	}
	if len(kicks) != 0 {
		t.Fatalf("writers woken during the run: %v", kicks)
	}
	h.wake()
	if kicks["0"] != 1 || kicks["1"] != 1 || kicks["2"] != 0 {
		t.Fatalf("kicks %v, want one for each shop session, none for news", kicks)
	}
	for _, s := range sessions[:2] {
		if q := s.take(nil); len(q) != 3 {
			t.Fatalf("session %s has %d frames queued, want the run's 3", s.id, len(q))
		}
	}
	h.wake()
	if kicks["0"] != 1 {
		t.Fatalf("a wake with nothing new woke a writer again: %v", kicks)
	}
}
