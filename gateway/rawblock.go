package gateway

import (
	"context"
	"fmt"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"google.golang.org/protobuf/proto"
)

// ParseBlock returns a raw block's transactions as Follow delivers them
// (validation codes, the named chaincode's event), so recorded blocks can be
// replayed through the same decoding.
func ParseBlock(b *common.Block, chaincodeName string) ([]Transaction, error) {
	return parseBlock(b, chaincodeName)
}

// Blocks streams raw committed blocks of the channel from start, from the
// current peer, until ctx ends or the stream breaks (no failover: it is for
// recording and tools, Follow is for relaying).
func (c *Client) Blocks(ctx context.Context, start uint64) (<-chan *common.Block, error) {
	network, _ := c.network()
	blocks, err := network.BlockEvents(ctx, client.WithStartBlock(start))
	if err != nil {
		return nil, classify(StageEvaluate, err)
	}
	return blocks, nil
}

// Height returns the channel's ledger height (the number of the next block
// to commit) as the current peer knows it, through the system chaincode
// qscc.
func (c *Client) Height(ctx context.Context) (uint64, error) {
	var out []byte
	err := c.withFailover(ctx, func(_ *client.Contract, network *client.Network) error {
		ectx, cancel := c.stageContext(ctx, StageEvaluate)
		defer cancel()
		var err error
		out, err = network.GetContract("qscc").EvaluateWithContext(ectx, "GetChainInfo", client.WithArguments(c.cfg.Channel))
		return classify(StageEvaluate, err)
	})
	if err != nil {
		return 0, err
	}
	var info common.BlockchainInfo
	if err := proto.Unmarshal(out, &info); err != nil {
		return 0, fmt.Errorf("chain info of %s: %w", c.cfg.Channel, err)
	}
	return info.GetHeight(), nil
}

// Channel returns the channel the client works on.
func (c *Client) Channel() string { return c.cfg.Channel }
