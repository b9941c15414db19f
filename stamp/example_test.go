package stamp_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/cachetsync/cachet/stamp"
)

// An origin wraps its handler; the version source would read the ledger
// (or a replica of it) in a real deployment.
func ExampleHandler() {
	versions := stamp.VersionFunc(func(_ context.Context, key string) (uint64, bool, error) {
		if key == "https://shop.example/items/1" {
			return 42, true, nil
		}
		return 0, false, nil
	})
	items := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		fmt.Fprint(w, `{"id":1}`)
	})
	h := stamp.Handler(items, versions)

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "https://shop.example/items/1", nil))
	fmt.Println(rec.Header().Get(stamp.Header))
	// Output: 42
}
