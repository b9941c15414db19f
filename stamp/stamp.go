// Package stamp is an origin middleware that tells Cachet's Service Worker
// which ledger version of an entry a response was built from.
//
// A response that left the origin before an invalidation reached the
// browser may arrive after it (a slow upstream, a lagging replica, a CDN
// fill). Without help the worker can only refuse a fill whose key's version
// moved while the response was in flight; one that was requested after the
// invalidation was applied but built from older data looks current. Handler
// stamps every GET and HEAD response with the entry's version in the
// Cachet-Version header, looked up before the wrapped handler runs, so the
// stamp is never newer than the data behind the response. The worker
// refuses to store a response whose stamp is older than the newest version
// it has applied for the key.
//
// The key is the request URL, canonicalized with cachekey.Canonical: the
// scheme is https when the request arrived over TLS, else http, and the host
// is the request's Host. A request whose URL is not a valid key, a key the
// VersionSource does not know, and a lookup that fails are served without
// the header (the worker then falls back to its in-flight check).
package stamp

import (
	"context"
	"net/http"
	"strconv"

	"github.com/cachetsync/cachet/cachekey"
)

// Header is the response header that carries the entry's ledger version.
const Header = "Cachet-Version"

// VersionSource looks up the current ledger version of a canonical cache
// key. ok is false when the key has no version (never published).
type VersionSource interface {
	Version(ctx context.Context, key string) (version uint64, ok bool, err error)
}

// VersionFunc adapts a function to VersionSource.
type VersionFunc func(ctx context.Context, key string) (uint64, bool, error)

// Version calls f.
func (f VersionFunc) Version(ctx context.Context, key string) (uint64, bool, error) {
	return f(ctx, key)
}

// Handler returns next with every GET and HEAD response stamped with the
// version versions reports for the request's canonical key. The lookup
// uses the request's context.
func Handler(next http.Handler, versions VersionSource) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			if v, ok := lookup(r, versions); ok {
				w.Header().Set(Header, strconv.FormatUint(v, 10))
			}
		}
		next.ServeHTTP(w, r)
	})
}

// lookup returns the version of r's key, if one can be told.
func lookup(r *http.Request, versions VersionSource) (uint64, bool) {
	key, err := cachekey.Canonical(RequestURL(r))
	if err != nil {
		return 0, false
	}
	v, ok, err := versions.Version(r.Context(), key)
	if err != nil || !ok {
		return 0, false
	}
	return v, true
}

// RequestURL returns the absolute URL a browser asked for with r, before
// canonicalization: r.URL itself when it is absolute (a proxy request),
// else the scheme (https over TLS), Host and request URI.
func RequestURL(r *http.Request) string {
	if r.URL.IsAbs() {
		return r.URL.String()
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + r.URL.RequestURI()
}
