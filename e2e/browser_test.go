//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestBrowserEvictsLedgerInvalidations runs the SDK's ledger browser tests
// (sdk/e2e/ledger.chain.ts: playwright-core driving Debian's Chromium)
// against this suite's network: `cachet publish`, `cachet invalidate` (one
// key, then several in one batch) and `cachet invalidate-tag` on the ledger
// evict the demo page's cached items through the relay and push server of
// `cachet dev`. make test-network builds the SDK and installs Chromium first.
func TestBrowserEvictsLedgerInvalidations(t *testing.T) {
	dist := filepath.Join(root, "sdk", "dist")
	test := filepath.Join(dist, "e2e", "ledger.chain.mjs")
	if _, err := os.Stat(test); err != nil {
		t.Fatalf("%v: build the SDK first (make sdk)", err)
	}
	cmd := exec.Command("node", "--test", "--test-timeout=300000", "--test-reporter=spec", test)
	cmd.Dir = filepath.Join(root, "sdk")
	cmd.Env = append(os.Environ(), "CACHET_BIN="+cachetBinary(t))
	out, err := cmd.CombinedOutput()
	t.Logf("node --test %s:\n%s", filepath.Base(test), tail(string(out), 4000))
	if err != nil {
		t.Fatalf("the browser tests failed: %v", err)
	}
}
