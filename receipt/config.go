package receipt

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"sort"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/msp"
	"google.golang.org/protobuf/proto"
)

// ChannelConfig is what a verifier takes from a channel configuration
// block it trusts: the member organizations' MSPs and the policy a block's
// orderer signatures must satisfy.
type ChannelConfig struct {
	Channel    string
	Number     uint64 // the configuration block's number
	HeaderHash []byte // SHA-256 of its header
	MSPs       map[string]*MSP
	// BlockValidation is /Channel/Orderer/BlockValidation.
	BlockValidation Policy
	// Consenters maps a BFT consenter's ID to its serialized identity, for
	// block signatures that name their signer by ID.
	Consenters map[uint32][]byte
}

// ParseConfigBlock reads a channel configuration block. It checks that the
// block's header commits to its data; whether to trust the block is the
// caller's decision.
func ParseConfigBlock(b *common.Block) (*ChannelConfig, error) {
	data := b.GetData().GetData()
	if len(data) != 1 {
		return nil, fmt.Errorf("receipt: a config block holds one envelope, block %d holds %d", b.GetHeader().GetNumber(), len(data))
	}
	if !bytes.Equal(dataHash(data), b.GetHeader().GetDataHash()) {
		return nil, fmt.Errorf("receipt: config block %d's data does not match its header", b.GetHeader().GetNumber())
	}
	var env common.Envelope
	var payload common.Payload
	var chdr common.ChannelHeader
	var cfgEnv common.ConfigEnvelope
	err := proto.Unmarshal(data[0], &env)
	if err == nil {
		err = proto.Unmarshal(env.GetPayload(), &payload)
	}
	if err == nil {
		err = proto.Unmarshal(payload.GetHeader().GetChannelHeader(), &chdr)
	}
	if err == nil {
		err = proto.Unmarshal(payload.GetData(), &cfgEnv)
	}
	if err != nil {
		return nil, fmt.Errorf("receipt: config block: %w", err)
	}
	if common.HeaderType(chdr.GetType()) != common.HeaderType_CONFIG {
		return nil, fmt.Errorf("receipt: block %d is not a config block", b.GetHeader().GetNumber())
	}
	root := cfgEnv.GetConfig().GetChannelGroup()
	cfg := &ChannelConfig{Channel: chdr.GetChannelId(), Number: b.GetHeader().GetNumber(), HeaderHash: HeaderHash(b.GetHeader()),
		MSPs: map[string]*MSP{}, Consenters: map[uint32][]byte{}}
	for _, section := range []string{"Orderer", "Application"} {
		for _, name := range sortedKeys(root.GetGroups()[section].GetGroups()) {
			m, err := parseMSP(root.GetGroups()[section].GetGroups()[name])
			if err != nil {
				return nil, fmt.Errorf("receipt: %s org %s: %w", section, name, err)
			}
			cfg.MSPs[m.ID] = m
		}
	}
	if v := root.GetValues()["Orderers"]; v != nil {
		var os common.Orderers
		if err := proto.Unmarshal(v.GetValue(), &os); err != nil {
			return nil, fmt.Errorf("receipt: consenters: %w", err)
		}
		for _, c := range os.GetConsenterMapping() {
			cfg.Consenters[c.GetId()], _ = proto.Marshal(&msp.SerializedIdentity{Mspid: c.GetMspId(), IdBytes: c.GetIdentity()})
		}
	}
	pol, err := groupPolicy(root.GetGroups()["Orderer"], "BlockValidation")
	if err != nil {
		return nil, fmt.Errorf("receipt: block validation policy: %w", err)
	}
	cfg.BlockValidation = pol
	return cfg, nil
}

// groupPolicy resolves the policy name of group, following implicit-meta
// policies into the group's organizations.
func groupPolicy(g *common.ConfigGroup, name string) (Policy, error) {
	cp := g.GetPolicies()[name]
	if cp == nil {
		return nil, fmt.Errorf("no policy %q", name)
	}
	switch common.Policy_PolicyType(cp.GetPolicy().GetType()) {
	case common.Policy_SIGNATURE:
		return ParseSignaturePolicy(cp.GetPolicy().GetValue())
	case common.Policy_IMPLICIT_META:
		var im common.ImplicitMetaPolicy
		if err := proto.Unmarshal(cp.GetPolicy().GetValue(), &im); err != nil {
			return nil, fmt.Errorf("policy %q: %w", name, err)
		}
		p := &ImplicitMetaPolicy{Rule: im.GetRule(), SubPolicy: im.GetSubPolicy()}
		for _, org := range sortedKeys(g.GetGroups()) {
			sub, err := groupPolicy(g.GetGroups()[org], im.GetSubPolicy())
			if err != nil {
				return nil, fmt.Errorf("%s: %w", org, err)
			}
			p.Subs = append(p.Subs, sub)
		}
		return p, nil
	}
	return nil, fmt.Errorf("policy %q has type %d, which receipts do not evaluate", name, cp.GetPolicy().GetType())
}

func parseMSP(g *common.ConfigGroup) (*MSP, error) {
	var mc msp.MSPConfig
	if err := proto.Unmarshal(g.GetValues()["MSP"].GetValue(), &mc); err != nil {
		return nil, fmt.Errorf("MSP value: %w", err)
	}
	if mc.GetType() != 0 {
		return nil, fmt.Errorf("MSP type %d: only X.509 MSPs are supported", mc.GetType())
	}
	var fc msp.FabricMSPConfig
	if err := proto.Unmarshal(mc.GetConfig(), &fc); err != nil {
		return nil, fmt.Errorf("MSP config: %w", err)
	}
	m := &MSP{ID: fc.GetName()}
	for _, l := range []struct {
		pems [][]byte
		to   *[]*x509.Certificate
	}{{fc.GetRootCerts(), &m.Roots}, {fc.GetIntermediateCerts(), &m.Intermediates}, {fc.GetAdmins(), &m.Admins}} {
		for _, p := range l.pems {
			c, err := parsePEM(p)
			if err != nil {
				return nil, fmt.Errorf("MSP %s: %w", m.ID, err)
			}
			*l.to = append(*l.to, c)
		}
	}
	if len(m.Roots) == 0 {
		return nil, fmt.Errorf("MSP %s has no root CA", m.ID)
	}
	if ous := fc.GetFabricNodeOus(); ous.GetEnable() {
		m.NodeOUs = &NodeOUs{
			Client:  ous.GetClientOuIdentifier().GetOrganizationalUnitIdentifier(),
			Peer:    ous.GetPeerOuIdentifier().GetOrganizationalUnitIdentifier(),
			Admin:   ous.GetAdminOuIdentifier().GetOrganizationalUnitIdentifier(),
			Orderer: ous.GetOrdererOuIdentifier().GetOrganizationalUnitIdentifier(),
		}
	}
	return m, nil
}

func parsePEM(b []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("no PEM certificate")
	}
	return x509.ParseCertificate(block.Bytes)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
