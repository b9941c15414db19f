package cachekey

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"
)

// HostRule names the rule of the WHATWG URL Standard's host parser that a
// host broke.
type HostRule string

// Rules a host can break.
const (
	HostEmpty     HostRule = "empty-host"           // nothing between "//" and the port or path
	HostIPv6      HostRule = "ipv6"                 // "[...]" that is not an IPv6 address
	HostIPv4      HostRule = "ipv4"                 // ends in a number but is not an IPv4 address
	HostForbidden HostRule = "forbidden-code-point" // a forbidden domain code point after decoding
	HostIDNA      HostRule = "idna"                 // UTS #46 domain-to-ASCII failed
)

// HostError reports a host the WHATWG host parser refuses. Canonical wraps it
// in an *Error with Reason ReasonHost; errors.As finds it.
type HostError struct {
	Host   string // the host as given, truncated to 64 bytes
	Rule   HostRule
	Detail string
}

func (e *HostError) Error() string {
	msg := fmt.Sprintf("invalid host %q: %s", e.Host, e.Rule)
	if e.Detail != "" {
		msg += " (" + e.Detail + ")"
	}
	return msg
}

func hostFail(host string, rule HostRule, detail string) error {
	if len(host) > 64 {
		host = strings.ToValidUTF8(host[:64], "") + "…"
	}
	return &HostError{Host: host, Rule: rule, Detail: detail}
}

// idnaProfile is UTS #46 ToASCII with the flags the URL Standard's
// "domain to ASCII" sets: CheckHyphens false, CheckBidi and CheckJoiners
// true, UseSTD3ASCIIRules false, nontransitional, VerifyDnsLength false.
var idnaProfile = idna.New(
	idna.MapForLookup(),
	idna.BidiRule(),
	idna.Transitional(false),
	idna.StrictDomainName(false),
	idna.CheckHyphens(false),
	idna.VerifyDNSLength(false),
)

// ParseHost parses the host of an http or https URL as the WHATWG URL
// Standard's host parser does and returns its serialization: a lower-case
// ASCII domain (punycode for non-ASCII labels), a dotted-decimal IPv4 address
// or a bracketed, compressed IPv6 address. A host the standard refuses gets a
// *HostError naming the rule.
func ParseHost(host string) (string, error) {
	if host == "" {
		return "", hostFail(host, HostEmpty, "")
	}
	if host[0] == '[' {
		if host[len(host)-1] != ']' {
			return "", hostFail(host, HostIPv6, "unterminated IPv6 literal")
		}
		a, err := parseIPv6(host[1 : len(host)-1])
		if err != nil {
			return "", hostFail(host, HostIPv6, err.Error())
		}
		return "[" + serializeIPv6(a) + "]", nil
	}
	domain := strings.ToValidUTF8(percentDecode(host), "\uFFFD")
	ascii, err := domainToASCII(domain)
	if err != nil {
		return "", hostFail(host, HostIDNA, err.Error())
	}
	for i := 0; i < len(ascii); i++ {
		if c := ascii[i]; c <= 0x20 || c == 0x7f || strings.IndexByte("#%/:<>?@[\\]^|", c) >= 0 {
			return "", hostFail(host, HostForbidden, fmt.Sprintf("%q", c))
		}
	}
	if endsInNumber(ascii) {
		v, err := parseIPv4(ascii)
		if err != nil {
			return "", hostFail(host, HostIPv4, err.Error())
		}
		return fmt.Sprintf("%d.%d.%d.%d", v>>24, v>>16&255, v>>8&255, v&255), nil
	}
	return ascii, nil
}

// domainToASCII lower-cases an ASCII domain without "xn--" labels (the
// standard allows skipping UTS #46 for those) and maps anything else.
func domainToASCII(domain string) (string, error) {
	lower := strings.ToLower(domain)
	if !hasNonASCII(domain) && !strings.HasPrefix(lower, "xn--") && !strings.Contains(lower, ".xn--") {
		return lower, nil
	}
	// UTS #46 (since Unicode 15.1): an A-label must decode to something that
	// is not all ASCII; x/net/idna turns "xn--" into an empty label. NFKC and
	// the three other full stops approximate UTS #46's mapping here.
	mapped := dots.Replace(norm.NFKC.String(lower))
	for _, label := range strings.Split(strings.ToLower(mapped), ".") {
		if !strings.HasPrefix(label, "xn--") {
			continue
		}
		u, err := idna.Punycode.ToUnicode(label)
		if err != nil || !hasNonASCII(u) {
			return "", fmt.Errorf("label %q does not decode to a non-ASCII label", label)
		}
	}
	ascii, err := idnaProfile.ToASCII(domain)
	if err != nil {
		return "", err
	}
	if ascii == "" {
		return "", fmt.Errorf("maps to the empty string")
	}
	return ascii, nil
}

func hasNonASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return true
		}
	}
	return false
}

// dots maps the full stops UTS #46 treats as label separators to '.'.
var dots = strings.NewReplacer("\u3002", ".", "\uFF0E", ".", "\uFF61", ".")

// percentDecode decodes %XX escapes and leaves any other '%' as it is.
func percentDecode(s string) string {
	if strings.IndexByte(s, '%') < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		b = append(b, s[i])
	}
	return string(b)
}

// endsInNumber is the standard's "ends in a number" checker.
func endsInNumber(s string) bool {
	parts := strings.Split(s, ".")
	if parts[len(parts)-1] == "" {
		if len(parts) == 1 {
			return false
		}
		parts = parts[:len(parts)-1]
	}
	last := parts[len(parts)-1]
	if last != "" && strings.Trim(last, "0123456789") == "" {
		return true
	}
	_, err := parseIPv4Number(last)
	return err == nil
}

// parseIPv4 is the standard's IPv4 parser: one to four parts, each decimal,
// octal (leading 0) or hex (0x), the last filling the remaining bytes.
func parseIPv4(s string) (uint32, error) {
	parts := strings.Split(s, ".")
	if parts[len(parts)-1] == "" && len(parts) > 1 {
		parts = parts[:len(parts)-1]
	}
	if len(parts) > 4 {
		return 0, fmt.Errorf("%d parts, at most 4", len(parts))
	}
	nums := make([]uint64, len(parts))
	for i, p := range parts {
		n, err := parseIPv4Number(p)
		if err != nil {
			return 0, fmt.Errorf("part %q: %w", p, err)
		}
		nums[i] = n
	}
	for _, n := range nums[:len(nums)-1] {
		if n > 255 {
			return 0, fmt.Errorf("part %d over 255", n)
		}
	}
	last := nums[len(nums)-1]
	if last >= 1<<(8*(5-len(nums))) {
		return 0, fmt.Errorf("last part %d too large", last)
	}
	v := uint32(last)
	for i, n := range nums[:len(nums)-1] {
		v += uint32(n) << (8 * (3 - i))
	}
	return v, nil
}

// parseIPv4Number parses one part; values of 2^32 and above are an error.
func parseIPv4Number(s string) (uint64, error) {
	if s == "" {
		return 0, fmt.Errorf("empty part")
	}
	base := 10
	switch {
	case len(s) >= 2 && (s[:2] == "0x" || s[:2] == "0X"):
		s, base = s[2:], 16
	case len(s) >= 2 && s[0] == '0':
		s, base = s[1:], 8
	}
	if s == "" {
		return 0, nil
	}
	if s[0] == '+' || s[0] == '-' || strings.IndexByte(s, '_') >= 0 {
		return 0, fmt.Errorf("not a base-%d number", base)
	}
	n, err := strconv.ParseUint(s, base, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return 1 << 32, nil
		}
		return 0, fmt.Errorf("not a base-%d number", base)
	}
	if n > 1<<32 {
		n = 1 << 32
	}
	return n, nil
}

// parseIPv6 is the standard's IPv6 parser.
func parseIPv6(s string) ([8]uint16, error) {
	var a [8]uint16
	piece, compress := 0, -1
	i := 0
	at := func(j int) byte {
		if j < len(s) {
			return s[j]
		}
		return 0
	}
	if at(0) == ':' {
		if at(1) != ':' {
			return a, fmt.Errorf("leading single ':'")
		}
		i += 2
		piece++
		compress = piece
	}
	for i < len(s) {
		if piece == 8 {
			return a, fmt.Errorf("more than 8 pieces")
		}
		if s[i] == ':' {
			if compress >= 0 {
				return a, fmt.Errorf("two '::'")
			}
			i++
			piece++
			compress = piece
			continue
		}
		value, length := 0, 0
		for length < 4 && i < len(s) && isHex(s[i]) {
			value = value<<4 | int(unhex(s[i]))
			i++
			length++
		}
		if i < len(s) && s[i] == '.' {
			if length == 0 {
				return a, fmt.Errorf("empty IPv4 part")
			}
			i -= length
			if piece > 6 {
				return a, fmt.Errorf("embedded IPv4 after piece 6")
			}
			seen := 0
			for i < len(s) {
				ipv4Piece := -1
				if seen > 0 {
					if s[i] == '.' && seen < 4 {
						i++
					} else {
						return a, fmt.Errorf("bad embedded IPv4")
					}
				}
				if i >= len(s) || !isDigit(s[i]) {
					return a, fmt.Errorf("bad embedded IPv4")
				}
				for i < len(s) && isDigit(s[i]) {
					n := int(s[i] - '0')
					switch {
					case ipv4Piece == -1:
						ipv4Piece = n
					case ipv4Piece == 0:
						return a, fmt.Errorf("leading zero in embedded IPv4")
					default:
						ipv4Piece = ipv4Piece*10 + n
					}
					if ipv4Piece > 255 {
						return a, fmt.Errorf("embedded IPv4 part over 255")
					}
					i++
				}
				a[piece] = a[piece]<<8 | uint16(ipv4Piece)
				seen++
				if seen == 2 || seen == 4 {
					piece++
				}
			}
			if seen != 4 {
				return a, fmt.Errorf("embedded IPv4 needs 4 parts")
			}
			break
		} else if i < len(s) && s[i] == ':' {
			i++
			if i >= len(s) {
				return a, fmt.Errorf("trailing ':'")
			}
		} else if i < len(s) {
			return a, fmt.Errorf("byte %q", s[i])
		}
		a[piece] = uint16(value)
		piece++
	}
	if compress >= 0 {
		swaps := piece - compress
		piece = 7
		for piece != 0 && swaps > 0 {
			a[piece], a[compress+swaps-1] = a[compress+swaps-1], a[piece]
			piece--
			swaps--
		}
	} else if piece != 8 {
		return a, fmt.Errorf("%d pieces, want 8", piece)
	}
	return a, nil
}

// serializeIPv6 writes lower-case hex pieces and compresses the first
// longest run of two or more zero pieces to "::".
func serializeIPv6(a [8]uint16) string {
	best, bestLen := -1, 1
	for i := 0; i < 8; {
		j := i
		for j < 8 && a[j] == 0 {
			j++
		}
		if j-i > bestLen {
			best, bestLen = i, j-i
		}
		if j == i {
			j++
		}
		i = j
	}
	var b strings.Builder
	for i := 0; i < 8; i++ {
		if i == best {
			b.WriteString("::")
			i += bestLen - 1
			continue
		}
		if i > 0 && i != best+bestLen {
			b.WriteByte(':')
		}
		b.WriteString(strconv.FormatUint(uint64(a[i]), 16))
	}
	return b.String()
}
