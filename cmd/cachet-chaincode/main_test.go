package main

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string
		want    config
	}{
		{"classic launch", nil, nil, "", config{}},
		{"service from env", nil, map[string]string{"CHAINCODE_SERVER_ADDRESS": "127.0.0.1:9999", "CHAINCODE_ID": "cachet_1:abc"}, "", config{address: "127.0.0.1:9999", id: "cachet_1:abc"}},
		{"flags win", []string{"--address", "127.0.0.1:1", "--id", "x:1"}, map[string]string{"CHAINCODE_SERVER_ADDRESS": "127.0.0.1:9999", "CHAINCODE_ID": "y"}, "", config{address: "127.0.0.1:1", id: "x:1"}},
		{"service without id", []string{"--address", "127.0.0.1:1"}, nil, "package ID", config{}},
		{"half TLS", []string{"--address", "a:1", "--id", "x", "--tls-cert", "c.pem"}, nil, "both", config{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parse(tt.args, env(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v", got, err)
			}
		})
	}
}
