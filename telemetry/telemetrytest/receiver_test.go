package telemetrytest_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cachetsync/cachet/telemetry/telemetrytest"
)

func TestReceiverRefusesNonOTLP(t *testing.T) {
	srv := httptest.NewServer(telemetrytest.NewReceiver(0))
	defer srv.Close()
	resp, err := srv.Client().Post(srv.URL+"/v1/traces", "application/x-protobuf", strings.NewReader("\xff\xff not protobuf"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 400 {
		t.Errorf("status %d, want 400", resp.StatusCode)
	}
}
