package receipt

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"google.golang.org/protobuf/proto"
)

// ErrNoConfigBlock is wrapped by TrustCAs for a receipt that carries no
// configuration block: verify it against a configuration block instead.
var ErrNoConfigBlock = errors.New("the receipt carries no channel configuration block")

// TrustCAs returns the Trust that verifies r against certificate
// authorities rather than a configuration block: the channel configuration
// is the one r carries (which must be the block r names), and each member
// organization's root CAs are cut down to the certificates roots lists for
// its MSP ID. A signer whose certificate chains to no CA you listed for its
// organization fails the certificate check; an organization you list no CA
// for can prove nothing. The channel's policies (block validation, and the
// organizations' node roles) are the carried configuration's: its orderers
// and members still have to sign under it with certificates you trust.
func TrustCAs(r *Receipt, roots map[string][]*x509.Certificate) (Trust, error) {
	if len(r.ConfigBlock) == 0 {
		return Trust{}, &CheckError{Check: CheckConfig, Err: ErrNoConfigBlock}
	}
	var blk common.Block
	if err := proto.Unmarshal(r.ConfigBlock, &blk); err != nil {
		return Trust{}, &CheckError{Check: CheckDecode, Err: fmt.Errorf("configuration block: %w", err)}
	}
	if !bytes.Equal(HeaderHash(blk.GetHeader()), r.Config.HeaderHash) {
		return Trust{}, fail(CheckConfig, "the configuration block carried is not the one the receipt names")
	}
	cfg, err := ParseConfigBlock(&blk)
	if err != nil {
		return Trust{}, &CheckError{Check: CheckConfig, Err: err}
	}
	for id, m := range cfg.MSPs {
		trusted := roots[id]
		m.Roots = slices.DeleteFunc(m.Roots, func(c *x509.Certificate) bool {
			return !slices.ContainsFunc(trusted, func(t *x509.Certificate) bool { return t.Equal(c) })
		})
	}
	return Trust{Config: cfg}, nil
}

// ReadCADir reads a directory of trusted root CAs: one folder per MSP ID
// holding PEM certificates, directly or in a cacerts/ folder (an MSP
// folder's layout), e.g. DIR/Org1MSP/cacerts/ca.org1.example.com-cert.pem.
func ReadCADir(dir string) (map[string][]*x509.Certificate, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := map[string][]*x509.Certificate{}
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		for _, sub := range []string{e.Name(), filepath.Join(e.Name(), "cacerts")} {
			files, err := filepath.Glob(filepath.Join(dir, sub, "*.pem"))
			if err != nil {
				return nil, err
			}
			for _, f := range files {
				b, err := os.ReadFile(f)
				if err != nil {
					return nil, err
				}
				c, err := parsePEM(b)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", f, err)
				}
				out[e.Name()] = append(out[e.Name()], c)
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds no MSP folder with PEM certificates", dir)
	}
	return out, nil
}
