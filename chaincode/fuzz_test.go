package chaincode_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/cachetsync/cachet/ledger"
)

var codes = []ledger.Code{ledger.CodeInvalidArgument, ledger.CodeNotFound, ledger.CodeStaleVersion,
	ledger.CodeBadTransition, ledger.CodeForbidden, ledger.CodeLimitExceeded, ledger.CodeHostClaimed}

// FuzzInvokeArguments sends arbitrary arguments through contractapi's real
// decoding. Whatever arrives, the contract answers (no panic), a refusal
// changes nothing, and every refusal, contractapi's decoding included,
// carries a code.
func FuzzInvokeArguments(f *testing.F) {
	seeds, _ := os.ReadFile(filepath.Join("..", "testdata", "chaincode", "fuzz-seeds.txt"))
	for _, line := range strings.Split(string(seeds), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			p := strings.Split(line, "|")
			for len(p) < 6 {
				p = append(p, "")
			}
			f.Add(p[0], p[1], p[2], p[3], p[4], p[5])
		}
	}
	f.Fuzz(func(t *testing.T, fn, a1, a2, a3, a4, a5 string) {
		e := newEnv(t)
		e.publish(org1Pub, "img:a", "catalog")
		before := e.l.Snapshot()
		args := []string{fn, a1, a2, a3, a4, a5}
		for len(args) > 1 && args[len(args)-1] == "" && fn != "Publish" {
			args = args[:len(args)-1]
		}
		r := e.call(org1Pub, args...)
		if r.Status == 200 {
			return
		}
		if !reflect.DeepEqual(before, e.l.Snapshot()) || r.Committed {
			t.Fatalf("%q refused (%s) but changed the ledger", args, r.Message)
		}
		for _, c := range codes {
			if strings.HasPrefix(r.Message, string(c)+": ") {
				return
			}
		}
		t.Fatalf("%q refused without a code: %q", args, r.Message)
	})
}
