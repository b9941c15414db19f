package kafka

import (
	"fmt"
	"os"
	"strings"
)

// SecurityProtocol is how clients reach the brokers (librdkafka's
// security.protocol).
type SecurityProtocol string

// The security protocols Config accepts. The empty value is plaintext.
const (
	Plaintext     SecurityProtocol = "plaintext"
	SSL           SecurityProtocol = "ssl"
	SASLPlaintext SecurityProtocol = "sasl_plaintext"
	SASLSSL       SecurityProtocol = "sasl_ssl"
)

// SASLMechanism is how a client authenticates with SASL (librdkafka's
// sasl.mechanisms).
type SASLMechanism string

// The SASL mechanisms Config maps from a username and password. Others
// (GSSAPI, OAUTHBEARER) need their own librdkafka properties: set
// sasl.mechanisms and the rest in Config.Extra.
const (
	Plain       SASLMechanism = "PLAIN"
	ScramSHA256 SASLMechanism = "SCRAM-SHA-256"
	ScramSHA512 SASLMechanism = "SCRAM-SHA-512"
)

// ParseSecurityProtocol accepts a protocol in any case; "" is plaintext.
func ParseSecurityProtocol(s string) (SecurityProtocol, error) {
	p := SecurityProtocol(strings.ToLower(strings.TrimSpace(s)))
	switch p {
	case "", Plaintext, SSL, SASLPlaintext, SASLSSL:
		return p, nil
	}
	return "", &ConfigError{Field: "security.protocol", Reason: fmt.Sprintf("want plaintext, ssl, sasl_plaintext or sasl_ssl, got %q", s)}
}

// ParseSASLMechanism accepts a mechanism in any case; "" is none.
func ParseSASLMechanism(s string) (SASLMechanism, error) {
	m := SASLMechanism(strings.ToUpper(strings.TrimSpace(s)))
	switch m {
	case "", Plain, ScramSHA256, ScramSHA512:
		return m, nil
	}
	return "", &ConfigError{Field: "sasl.mechanism", Reason: fmt.Sprintf("want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, got %q", s)}
}

func (p SecurityProtocol) sasl() bool { return p == SASLPlaintext || p == SASLSSL }
func (p SecurityProtocol) tls() bool  { return p == SSL || p == SASLSSL }

// validateSecurity reports security settings that cannot work together,
// before librdkafka would fail on them later and less clearly. It never
// puts the password in an error.
func (c Config) validateSecurity() error {
	p, err := ParseSecurityProtocol(string(c.SecurityProtocol))
	if err != nil {
		return err
	}
	mech, err := ParseSASLMechanism(string(c.SASLMechanism))
	if err != nil {
		return err
	}
	if !p.sasl() {
		if mech != "" || c.SASLUsername != "" || c.SASLPassword != "" {
			return &ConfigError{Field: "security.protocol", Reason: fmt.Sprintf("SASL settings need sasl_plaintext or sasl_ssl, not %s", p.orPlaintext())}
		}
	} else {
		_, extraMech := c.Extra["sasl.mechanisms"]
		if _, ok := c.Extra["sasl.mechanism"]; ok {
			extraMech = true
		}
		switch {
		case mech == "" && !extraMech:
			return &ConfigError{Field: "sasl.mechanism", Reason: fmt.Sprintf("%s needs a mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", p)}
		case mech != "" && c.SASLUsername == "":
			return &ConfigError{Field: "sasl.username", Reason: fmt.Sprintf("%s needs a username", mech)}
		case mech != "" && c.SASLPassword == "":
			return &ConfigError{Field: "sasl.password", Reason: fmt.Sprintf("%s needs a password", mech)}
		}
	}
	for _, f := range c.tlsFiles() {
		if f.path == "" {
			continue
		}
		if !p.tls() {
			return &ConfigError{Field: f.field, Reason: fmt.Sprintf("TLS files need ssl or sasl_ssl, not %s", p.orPlaintext())}
		}
		if st, err := os.Stat(f.path); err != nil {
			return &ConfigError{Field: f.field, Reason: err.Error()}
		} else if st.IsDir() {
			return &ConfigError{Field: f.field, Reason: f.path + " is a folder, want a PEM file"}
		}
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		return &ConfigError{Field: "ssl.certificate.location", Reason: "a client certificate and its key go together: set both or neither"}
	}
	return nil
}

func (p SecurityProtocol) orPlaintext() SecurityProtocol {
	if p == "" {
		return Plaintext
	}
	return p
}

// security adds the librdkafka properties of the security settings to m.
// Extra is applied after it, so an explicit property there wins.
func (c Config) security(m ConfigMap) {
	p, _ := ParseSecurityProtocol(string(c.SecurityProtocol))
	if p == "" {
		return
	}
	m["security.protocol"] = string(p)
	if p.sasl() {
		if mech, _ := ParseSASLMechanism(string(c.SASLMechanism)); mech != "" {
			m["sasl.mechanisms"] = string(mech)
			m["sasl.username"] = c.SASLUsername
			m["sasl.password"] = c.SASLPassword
		}
	}
	if p.tls() {
		for _, f := range c.tlsFiles() {
			if f.path != "" {
				m[f.field] = f.path
			}
		}
	}
}

// tlsFiles are the TLS files of c with their librdkafka properties.
func (c Config) tlsFiles() [3]struct{ field, path string } {
	return [3]struct{ field, path string }{
		{"ssl.ca.location", c.TLSCAFile}, {"ssl.certificate.location", c.TLSCertFile}, {"ssl.key.location", c.TLSKeyFile},
	}
}
