package cachekey_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/cachetsync/cachet/cachekey"
)

func TestParseHost(t *testing.T) {
	tests := []struct {
		in, want string
		rule     cachekey.HostRule
	}{
		{in: "Shop.Example", want: "shop.example"},
		{in: "0xffffffff", want: "255.255.255.255"},
		{in: "256", want: "0.0.1.0"},
		{in: "0300.0250.0.1", want: "192.168.0.1"},
		{in: "127.1", want: "127.0.0.1"},
		{in: "127.0.1", want: "127.0.0.1"},
		{in: "1.2.3.4.", want: "1.2.3.4"},
		{in: "0x7f.1", want: "127.0.0.1"},
		{in: "0x", want: "0.0.0.0"},
		{in: "1.2.3.09", rule: cachekey.HostIPv4},
		{in: "4294967296", rule: cachekey.HostIPv4},
		{in: "1.2.3.4.5", rule: cachekey.HostIPv4},
		{in: "256.0.0.1", rule: cachekey.HostIPv4},
		{in: "1.2.3.256", rule: cachekey.HostIPv4},
		{in: "foo.09", rule: cachekey.HostIPv4},
		{in: "foo.0x4", rule: cachekey.HostIPv4},
		{in: "1.2.3.4x", want: "1.2.3.4x"},
		{in: "[::127.0.0.1]", want: "[::7f00:1]"},
		{in: "[1:0::]", want: "[1::]"},
		{in: "[0:0:0:0:0:0:0:1]", want: "[::1]"},
		{in: "[1:0:0:2:0:0:0:3]", want: "[1:0:0:2::3]"},
		{in: "[1:0:0:2:0:0:3:4]", want: "[1::2:0:0:3:4]"},
		{in: "[1:2:3:4:5:6:7:0]", want: "[1:2:3:4:5:6:7:0]"},
		{in: "[ABCD:EF01::]", want: "[abcd:ef01::]"},
		{in: "[0::ffff:1.2.3.4]", want: "[::ffff:102:304]"},
		{in: "[1::2::3]", rule: cachekey.HostIPv6},
		{in: "[::1.2.3]", rule: cachekey.HostIPv6},
		{in: "[::1.2.3.04]", rule: cachekey.HostIPv6},
		{in: "[1:2:3:4:5:6:7:8:9]", rule: cachekey.HostIPv6},
		{in: "[:1]", rule: cachekey.HostIPv6},
		{in: "[1:]", rule: cachekey.HostIPv6},
		{in: "[1:2:3:4:5:6:7]", rule: cachekey.HostIPv6},
		{in: "[::1", rule: cachekey.HostIPv6},
		{in: "[::g]", rule: cachekey.HostIPv6},
		{in: "", rule: cachekey.HostEmpty},
		{in: "a<b", rule: cachekey.HostForbidden},
		{in: "ex%2Fample", rule: cachekey.HostForbidden},
		{in: "a%zz", rule: cachekey.HostForbidden},
		{in: "a^b", rule: cachekey.HostForbidden},
		{in: "sh%6Fp.example", want: "shop.example"},
		{in: "café.example", want: "xn--caf-dma.example"},
		{in: "BÜCHER.example", want: "xn--bcher-kva.example"},
		{in: "xn--a", rule: cachekey.HostIDNA},
		{in: "%C2%AD", rule: cachekey.HostIDNA},
		{in: "a.xn--", rule: cachekey.HostIDNA},
		{in: "xn--。ab", rule: cachekey.HostIDNA},
		{in: "xn--abc-", rule: cachekey.HostIDNA},
		{in: "a٠", rule: cachekey.HostIDNA}, // Bidi rule: an LTR label with an Arabic-Indic digit
		{in: "under_score.example", want: "under_score.example"},
	}
	for _, tt := range tests {
		got, err := cachekey.ParseHost(tt.in)
		if tt.rule == "" {
			if err != nil || got != tt.want {
				t.Errorf("ParseHost(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
			continue
		}
		var he *cachekey.HostError
		if !errors.As(err, &he) || he.Rule != tt.rule {
			t.Errorf("ParseHost(%q) = %q, %v; want rule %s", tt.in, got, err, tt.rule)
		}
	}
}

func TestCanonicalBadHostWrapsTheRule(t *testing.T) {
	_, err := cachekey.Canonical("http://1.2.3.256/x")
	var ke *cachekey.Error
	var he *cachekey.HostError
	if !errors.As(err, &ke) || ke.Reason != cachekey.ReasonHost || !errors.As(err, &he) || he.Rule != cachekey.HostIPv4 {
		t.Fatalf("error %v: want bad-host wrapping rule ipv4", err)
	}
	if !strings.Contains(err.Error(), "ipv4") {
		t.Fatalf("error %q should name the rule", err)
	}
}

// FuzzHost checks that ParseHost either refuses with a *HostError or returns
// a host that is ASCII, free of forbidden code points and a fixed point.
func FuzzHost(f *testing.F) {
	for _, s := range []string{"shop.example", "0xffffffff", "1.2.3.4.", "[::127.0.0.1]", "[1:0::]", "café.example", "xn--caf-dma", "%41.b", "0300.0250.0.1", "[::ffff:1.2.3.4]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		host, err := cachekey.ParseHost(in)
		if err != nil {
			var he *cachekey.HostError
			if !errors.As(err, &he) || he.Rule == "" {
				t.Fatalf("ParseHost(%q): untyped error %v", in, err)
			}
			return
		}
		for i := 0; i < len(host); i++ {
			if c := host[i]; c <= ' ' || c >= 0x7f || strings.IndexByte("#%/<>?@\\^|", c) >= 0 {
				t.Fatalf("ParseHost(%q) = %q: byte %q", in, host, c)
			}
		}
		if host[0] != '[' && strings.ContainsAny(host, ":[]") {
			t.Fatalf("ParseHost(%q) = %q: ':' or brackets outside an IPv6 literal", in, host)
		}
		again, err := cachekey.ParseHost(host)
		if err != nil || again != host {
			t.Fatalf("not a fixed point: %q -> %q -> %q, %v", in, host, again, err)
		}
	})
}
