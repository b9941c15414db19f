package main

import (
	"crypto/x509"
	"fmt"
	"os"
	"strings"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	"github.com/cachetsync/cachet/receipt"
)

func newVerifyCmd() *cobra.Command {
	var trustFile, caDir string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "verify [flags] RECEIPT.json",
		Short: "Check a receipt offline against a trusted channel configuration block or trusted CAs",
		Long: `verify checks a receipt without any network: the block's orderer signatures
under the configuration's block validation policy, the submitter's and
endorsers' signatures and certificates, the endorsement policies of the keys
written, and the validation flag. It prints what was proven or the first
check that failed. Exit status: 0 proven, 1 refused, 2 usage.

Trust either a channel configuration block (--trust), or the organizations'
root CAs (--ca-dir): the receipt then brings its configuration block, and
every signer must chain to a CA listed for its own MSP ID.`,
		Example: `  cachet verify --trust config.block publish.json
  cachet verify --trust config.block --json invalidate.json
  cachet verify --ca-dir trusted-cas/ purge.json   # trusted-cas/Org1MSP/cacerts/*.pem, …`,
		Args: exactArgs(1, "RECEIPT"),
	}
	cmd.Flags().StringVar(&trustFile, "trust", "", "the channel configuration block you trust (protobuf, as peer channel fetch config writes)")
	cmd.Flags().StringVar(&caDir, "ca-dir", "", "a folder of trusted root CAs, one folder per MSP ID holding PEM files (directly or in cacerts/)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the proof, and errors, as JSON")
	cmd.MarkFlagsMutuallyExclusive("trust", "ca-dir")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if trustFile == "" && caDir == "" {
			return usagef("--trust or --ca-dir is required: a channel configuration block or the CAs you trust")
		}
		var cfg *receipt.ChannelConfig
		var roots map[string][]*x509.Certificate
		var err error
		if trustFile != "" {
			cfg, err = readTrust(trustFile)
		} else if roots, err = receipt.ReadCADir(caDir); err != nil {
			err = usagef("--ca-dir: %v", err)
		}
		if err != nil {
			return err
		}
		b, err := os.ReadFile(args[0])
		if err != nil {
			return asUsage(err)
		}
		r, err := receipt.Decode(b)
		if err != nil {
			return err
		}
		trust := receipt.Trust{Config: cfg}
		if roots != nil {
			if trust, err = receipt.TrustCAs(r, roots); err != nil {
				return err
			}
		}
		p, err := receipt.Verify(r, trust)
		if err != nil {
			return err
		}
		return printResult(cmd.OutOrStdout(), asJSON, p, proofText(p))
	}
	return cmd
}

// readTrust reads and parses a configuration block; a file that is not one
// is a usage error.
func readTrust(path string) (*receipt.ChannelConfig, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, asUsage(err)
	}
	var blk common.Block
	if err := proto.Unmarshal(b, &blk); err != nil {
		return nil, usagef("--trust %s: not a block: %v", path, err)
	}
	cfg, err := receipt.ParseConfigBlock(&blk)
	if err != nil {
		return nil, asUsage(fmt.Errorf("--trust %s: %w", path, err))
	}
	return cfg, nil
}

func proofText(p *receipt.Proof) string {
	var b strings.Builder
	fmt.Fprintf(&b, "proven: transaction %s, block %d, tx %d, channel %s, chaincode %s\n", p.TxID, p.Block, p.TxIndex, p.Channel, p.Chaincode)
	fmt.Fprintf(&b, "who:       %s\n", identityText(p.Creator))
	if p.Event != nil {
		for _, t := range p.Event.Transitions {
			fmt.Fprintf(&b, "what:      %s %s → version %d %s, owner %s", t.Op, t.Key, t.Version, t.State, t.Owner)
			if t.Reason != "" {
				fmt.Fprintf(&b, ", reason %q", t.Reason)
			}
			b.WriteString("\n")
		}
		for _, g := range p.Event.Purges {
			fmt.Fprintf(&b, "what:      purge %s → generation %d, owner %s", g.Scope, g.Generation, g.Owner)
			if g.Soft {
				b.WriteString(", soft")
			}
			if g.Reason != "" {
				fmt.Fprintf(&b, ", reason %q", g.Reason)
			}
			b.WriteString("\n")
		}
		if p.Event.TokenID != "" {
			fmt.Fprintf(&b, "token:     %s\n", p.Event.TokenID)
		}
	}
	fmt.Fprintf(&b, "when:      %s\n", p.Timestamp.UTC().Format("2006-01-02T15:04:05.000Z"))
	for _, e := range p.Endorsers {
		fmt.Fprintf(&b, "endorser:  %s\n", identityText(e))
	}
	for _, kp := range p.Policies {
		fmt.Fprintf(&b, "policy:    %q %s, set by %s\n", kp.Key, kp.Policy, kp.Source)
	}
	for _, o := range p.Orderers {
		fmt.Fprintf(&b, "ordered:   %s\n", identityText(o))
	}
	return strings.TrimRight(b.String(), "\n")
}

func identityText(id receipt.Identity) string {
	s := id.MSPID
	if id.NodeRole != "" {
		s += " " + id.NodeRole
	}
	if id.Role != "" {
		s += " (cachet.role " + id.Role + ")"
	}
	return s + " " + id.Subject
}
