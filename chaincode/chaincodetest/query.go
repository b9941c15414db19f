package chaincodetest

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-protos-go-apiv2/ledger/queryresult"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
)

// Fabric's composite keys: "\x00objectType\x00attr1\x00attr2\x00...".
const (
	compositeNS = "\x00"
	maxRune     = string(utf8.MaxRune)
)

// errPaginatedWrite is what a peer answers a write after a paginated query:
// paginated queries are for read-only transactions.
var errPaginatedWrite = errors.New("txmgr: this transaction has performed a paginated query; writes are not allowed")

// CreateCompositeKey builds a composite key as Fabric does.
func (s *Stub) CreateCompositeKey(objectType string, attributes []string) (string, error) {
	if err := validatePart(objectType); err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(compositeNS + objectType + compositeNS)
	for _, a := range attributes {
		if err := validatePart(a); err != nil {
			return "", err
		}
		b.WriteString(a + compositeNS)
	}
	return b.String(), nil
}

// SplitCompositeKey splits a composite key into its object type and
// attributes.
func (s *Stub) SplitCompositeKey(key string) (string, []string, error) {
	if !strings.HasPrefix(key, compositeNS) || !strings.HasSuffix(key, compositeNS) || len(key) < 2 {
		return "", nil, fmt.Errorf("%q is not a composite key", key)
	}
	parts := strings.Split(key[1:len(key)-1], compositeNS)
	return parts[0], parts[1:], nil
}

func validatePart(s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("not a valid utf8 string: [%x]", s)
	}
	if strings.Contains(s, compositeNS) || strings.Contains(s, maxRune) {
		return fmt.Errorf("input contains unicode %#U or %#U, which are reserved", 0, utf8.MaxRune)
	}
	return nil
}

// GetStateByPartialCompositeKey returns the committed keys under a composite
// key prefix, in key order.
func (s *Stub) GetStateByPartialCompositeKey(objectType string, keys []string) (shim.StateQueryIteratorInterface, error) {
	prefix, err := s.CreateCompositeKey(objectType, keys)
	if err != nil {
		return nil, err
	}
	return &kvIterator{kvs: s.ledger.scan(prefix, prefix+maxRune)}, nil
}

// GetStateByPartialCompositeKeyWithPagination returns one page of
// GetStateByPartialCompositeKey, starting at bookmark (a key this method
// returned), and the bookmark of the next page, empty after the last one.
// Like a peer, it forbids writes in the rest of the transaction.
func (s *Stub) GetStateByPartialCompositeKeyWithPagination(objectType string, keys []string, pageSize int32, bookmark string) (shim.StateQueryIteratorInterface, *peer.QueryResponseMetadata, error) {
	prefix, err := s.CreateCompositeKey(objectType, keys)
	if err != nil {
		return nil, nil, err
	}
	return s.page(prefix, prefix+maxRune, pageSize, bookmark)
}

// GetStateByRangeWithPagination returns one page of GetStateByRange, with
// the same bookmark and read-only rules as the composite-key variant.
func (s *Stub) GetStateByRangeWithPagination(startKey, endKey string, pageSize int32, bookmark string) (shim.StateQueryIteratorInterface, *peer.QueryResponseMetadata, error) {
	if err := simpleKeys(startKey, endKey); err != nil {
		return nil, nil, err
	}
	return s.page(startKey, endKey, pageSize, bookmark)
}

func (s *Stub) page(start, end string, pageSize int32, bookmark string) (shim.StateQueryIteratorInterface, *peer.QueryResponseMetadata, error) {
	if pageSize <= 0 {
		return nil, nil, fmt.Errorf("page size %d must be positive", pageSize)
	}
	s.paginated = true
	if bookmark != "" {
		if bookmark < start || (end != "" && bookmark >= end) {
			return nil, nil, fmt.Errorf("bookmark %q is outside the queried range", bookmark)
		}
		start = bookmark
	}
	kvs := s.ledger.scan(start, end)
	meta := &peer.QueryResponseMetadata{}
	if len(kvs) > int(pageSize) {
		meta.Bookmark = kvs[pageSize].GetKey()
		kvs = kvs[:pageSize]
	}
	meta.FetchedRecordsCount = int32(len(kvs))
	return &kvIterator{kvs: kvs}, meta, nil
}

// GetStateByRange implements shim.ChaincodeStubInterface over committed
// state, refusing 0x00-prefixed (composite) keys as Fabric does.
func (s *Stub) GetStateByRange(startKey, endKey string) (shim.StateQueryIteratorInterface, error) {
	if err := simpleKeys(startKey, endKey); err != nil {
		return nil, err
	}
	return &kvIterator{kvs: s.ledger.scan(startKey, endKey)}, nil
}

func simpleKeys(keys ...string) error {
	for _, k := range keys {
		if strings.HasPrefix(k, compositeNS) {
			return fmt.Errorf("first character of the key [%q] contains a null character which is not allowed", k)
		}
	}
	return nil
}

// scan returns the committed key-values in [start, end) in key order; an
// empty end means no upper bound.
func (l *Ledger) scan(start, end string) []*queryresult.KV {
	l.mu.Lock()
	defer l.mu.Unlock()
	var kvs []*queryresult.KV
	for k, v := range l.state {
		if k >= start && (end == "" || k < end) {
			kvs = append(kvs, &queryresult.KV{Namespace: "cachet", Key: k, Value: v})
		}
	}
	sort.Slice(kvs, func(i, j int) bool { return kvs[i].Key < kvs[j].Key })
	return kvs
}
