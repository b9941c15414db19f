package push

import (
	"errors"
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"
	"strings"
)

// Position is where a client stands in cachet.transitions: the topic's
// epoch, the hash of the channel set it was issued for, and per partition
// the next offset the client has not accounted for.
type Position struct {
	Epoch    string
	Channels uint32
	Offsets  []int64
}

// MaxPositionBytes bounds an encoded position.
const MaxPositionBytes = 512

// ErrBadPosition is returned for a position that does not parse.
var ErrBadPosition = errors.New("malformed position")

// String encodes p as PROTOCOL.md describes: p1~epoch~chash~o0.o1...
func (p Position) String() string {
	return string(p.appendTo(make([]byte, 0, 32+8*len(p.Offsets))))
}

func (p Position) appendTo(b []byte) []byte {
	b = append(b, "p1~"...)
	b = append(b, p.Epoch...)
	b = append(b, '~')
	b = appendHex32(b, p.Channels)
	b = append(b, '~')
	for i, o := range p.Offsets {
		if i > 0 {
			b = append(b, '.')
		}
		b = strconv.AppendInt(b, o, 10)
	}
	return b
}

func appendHex32(b []byte, v uint32) []byte {
	const hex = "0123456789abcdef"
	for s := 28; s >= 0; s -= 4 {
		b = append(b, hex[v>>uint(s)&0xf])
	}
	return b
}

// ParsePosition decodes a position; errors wrap ErrBadPosition.
func ParsePosition(s string) (Position, error) {
	bad := func(why string) (Position, error) { return Position{}, fmt.Errorf("%w: %s", ErrBadPosition, why) }
	if len(s) > MaxPositionBytes {
		return bad("too long")
	}
	parts := strings.Split(s, "~")
	if len(parts) != 4 || parts[0] != "p1" {
		return bad("want p1~epoch~channels~offsets")
	}
	if len(parts[1]) != 16 || !isHex(parts[1]) {
		return bad("epoch is not 16 hex digits")
	}
	if len(parts[2]) != 8 || !isHex(parts[2]) {
		return bad("channel hash is not 8 hex digits")
	}
	h, _ := strconv.ParseUint(parts[2], 16, 32)
	offs := strings.Split(parts[3], ".")
	p := Position{Epoch: parts[1], Channels: uint32(h), Offsets: make([]int64, len(offs))}
	for i, o := range offs {
		v, err := strconv.ParseInt(o, 10, 64)
		if err != nil || v < 0 || o != strconv.FormatInt(v, 10) {
			return bad(fmt.Sprintf("offset %d is not a non-negative integer", i))
		}
		p.Offsets[i] = v
	}
	return p, nil
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// ChannelHash is the FNV-1a hash of the sorted channels joined by "\n".
func ChannelHash(channels []string) uint32 {
	s := append([]string(nil), channels...)
	sort.Strings(s)
	h := fnv.New32a()
	h.Write([]byte(strings.Join(s, "\n")))
	return h.Sum32()
}

// Epoch names an incarnation of the transitions topic: 16 hex digits of the
// FNV-1a hash of its topic ID and partition count.
func Epoch(topicID string, partitions int) string {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s/%d", topicID, partitions)
	return fmt.Sprintf("%016x", h.Sum64())
}
