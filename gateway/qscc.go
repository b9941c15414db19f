package gateway

import (
	"context"
	"strconv"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
)

// BlockByTxID fetches the committed block holding transaction txID, valid
// or not, through the peer's query system chaincode.
func (c *Client) BlockByTxID(ctx context.Context, txID string) (*common.Block, error) {
	return c.qsccBlock(ctx, "GetBlockByTxID", txID)
}

// BlockByNumber fetches committed block n through the peer's query system
// chaincode.
func (c *Client) BlockByNumber(ctx context.Context, n uint64) (*common.Block, error) {
	return c.qsccBlock(ctx, "GetBlockByNumber", strconv.FormatUint(n, 10))
}

// Chaincode returns the name of the contract the client calls.
func (c *Client) Chaincode() string { return c.cfg.Chaincode }
