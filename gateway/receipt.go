package gateway

import (
	"context"
	"fmt"
	"strconv"

	"github.com/cachetsync/cachet/receipt"
	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"google.golang.org/protobuf/proto"
)

// Receipt fetches the block that holds txID and the channel configuration
// block it was made under, through the peer's query system chaincode, and
// makes the transaction's receipt.
func (c *Client) Receipt(ctx context.Context, txID string) (*receipt.Receipt, error) {
	block, err := c.qsccBlock(ctx, "GetBlockByTxID", txID)
	if err != nil {
		return nil, err
	}
	idx := -1
	for i, env := range block.GetData().GetData() {
		if hdr, _, err := unpackEnvelope(env); err == nil && hdr.GetTxId() == txID {
			idx = i
			break
		}
	}
	if idx < 0 {
		return nil, fmt.Errorf("block %d does not hold transaction %s", block.GetHeader().GetNumber(), txID)
	}
	cfg, err := c.ConfigBlock(ctx, block)
	if err != nil {
		return nil, err
	}
	r, err := receipt.New(block, idx, cfg)
	if err != nil {
		return nil, err
	}
	return r, r.EmbedConfig(cfg)
}

// ConfigBlock fetches the channel configuration block that block's
// metadata names as its last config.
func (c *Client) ConfigBlock(ctx context.Context, block *common.Block) (*common.Block, error) {
	last, err := receipt.LastConfigIndex(block)
	if err != nil {
		return nil, err
	}
	return c.qsccBlock(ctx, "GetBlockByNumber", strconv.FormatUint(last, 10))
}

func (c *Client) qsccBlock(ctx context.Context, fn, arg string) (*common.Block, error) {
	var out []byte
	err := c.withFailover(ctx, func(_ *client.Contract, network *client.Network) error {
		ectx, cancel := c.stageContext(ctx, StageEvaluate)
		defer cancel()
		var err error
		out, err = network.GetContract("qscc").EvaluateWithContext(ectx, fn, client.WithArguments(c.cfg.Channel, arg))
		return classify(StageEvaluate, err)
	})
	if err != nil {
		return nil, err
	}
	var b common.Block
	if err := proto.Unmarshal(out, &b); err != nil {
		return nil, fmt.Errorf("qscc %s(%s): %w", fn, arg, err)
	}
	return &b, nil
}
