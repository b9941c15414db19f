package telemetry

import (
	"context"
	"os"
	"testing"
)

func TestResourceFromEnv(t *testing.T) {
	host, _ := os.Hostname()
	for _, tc := range []struct {
		name, version, serviceEnv, attrsEnv string
		want                                map[string]string
	}{
		{"defaults", "", "", "", map[string]string{"service.name": "cachet-relay", "service.version": moduleVersion(), "host.name": host, "process.runtime.name": "go"}},
		{"version given", "v1.2.3", "", "", map[string]string{"service.version": "v1.2.3"}},
		{"service.version from the attributes wins", "v1.2.3", "", "service.version=v9", map[string]string{"service.version": "v9"}},
		{"attributes from the environment", "", "", "k8s.pod.name=cachet-relay-7d9f-x2,deployment.environment=prod",
			map[string]string{"service.name": "cachet-relay", "k8s.pod.name": "cachet-relay-7d9f-x2", "deployment.environment": "prod"}},
		{"OTEL_SERVICE_NAME wins", "", "relay-eu", "service.name=ignored", map[string]string{"service.name": "relay-eu"}},
		{"service.name from the attributes", "", "", "service.name=relay-us", map[string]string{"service.name": "relay-us"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("OTEL_SERVICE_NAME", tc.serviceEnv)
			t.Setenv("OTEL_RESOURCE_ATTRIBUTES", tc.attrsEnv)
			res, err := newResource(context.Background(), "cachet-relay", tc.version)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, kv := range res.Attributes() {
				got[string(kv.Key)] = kv.Value.String()
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q (resource %v)", k, got[k], v, got)
				}
			}
			if got["process.pid"] == "" {
				t.Errorf("no process.pid in %v", got)
			}
		})
	}
}
