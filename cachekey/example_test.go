package cachekey_test

import (
	"errors"
	"fmt"

	"github.com/cachetsync/cachet/cachekey"
)

func ExampleCanonical() {
	for _, raw := range []string{
		`HTTPS://Shop.Example:443\a\.\b\..\c?z=1&a=%7e#top`,
		"http://0300.0250.0.1/",
		"http://[1:0::]:8080/",
		"https://BÜCHER.example/",
		"https://user@shop.example/",
	} {
		key, err := cachekey.Canonical(raw)
		fmt.Println(key, err)
	}
	// Output:
	// https://shop.example/a/c?a=~&z=1 <nil>
	// http://192.168.0.1/ <nil>
	// http://[1::]:8080/ <nil>
	// https://xn--bcher-kva.example/ <nil>
	//  invalid cache key "https://user@shop.example/": userinfo (credentials do not belong in a cache key)
}

func ExampleParseHost() {
	for _, h := range []string{"0xffffffff", "[::127.0.0.1]", "1.2.3.256"} {
		host, err := cachekey.ParseHost(h)
		var he *cachekey.HostError
		if errors.As(err, &he) {
			fmt.Println("refused:", he.Rule)
			continue
		}
		fmt.Println(host)
	}
	// Output:
	// 255.255.255.255
	// [::7f00:1]
	// refused: ipv4
}
