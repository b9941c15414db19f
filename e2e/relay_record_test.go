//go:build e2e && record

package e2e

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/cachetsync/cachet/gateway"
)

// TestRecordRelayBlocks records the block stream the relay benchmark
// replays (testdata/relay/): committed blocks under load, serialized, with
// the commit rate measured while recording. It builds only with
// the record build tag (make record-relay-blocks; CACHET_RECORD_TRANSITIONS
// sets the load size).
func TestRecordRelayBlocks(t *testing.T) {
	n := envInt(t, "CACHET_RECORD_TRANSITIONS", 1600)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	pub, inv, aud := client(t, "org1", "publisher"), client(t, "org1", "invalidator"), client(t, "org1", "auditor")
	first := publishN(t, ctx, pub, "img:rec-start", 0, 1) + 1
	began := time.Now()
	want := commitLoad(t, ctx, pub, inv, "img:rec", n)
	elapsed := time.Since(began)
	if t.Failed() {
		t.FailNow()
	}
	last := publishN(t, ctx, pub, "img:rec-end", 0, 1) - 1

	blocks, err := aud.Blocks(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	var raw bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&raw, gzip.BestCompression)
	meta := struct {
		Channel            string  `json:"channel"`
		Chaincode          string  `json:"chaincode"`
		FirstBlock         uint64  `json:"firstBlock"`
		Blocks             int     `json:"blocks"`
		Transactions       int     `json:"transactions"`
		Transitions        int     `json:"transitions"`
		CommitSeconds      float64 `json:"commitSeconds"`
		CommitTransitionsS float64 `json:"commitTransitionsPerSecond"`
		Load               string  `json:"load"`
		RecordedAt         string  `json:"recordedAt"`
	}{Channel: aud.Channel(), Chaincode: "cachet", FirstBlock: first, CommitSeconds: elapsed.Seconds(),
		CommitTransitionsS: float64(len(want)) / elapsed.Seconds(), RecordedAt: time.Now().UTC().Format(time.RFC3339),
		Load: "rounds of Publish (32 concurrent callers) then InvalidateBatch of 250 keys, org1, 3 raft orderers, 3 peers, on this 2-core machine"}
	for b := range blocks {
		txs, err := gateway.ParseBlock(b, "cachet")
		if err != nil {
			t.Fatal(err)
		}
		bs, err := proto.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		zw.Write(binary.AppendUvarint(nil, uint64(len(bs))))
		zw.Write(bs)
		meta.Blocks++
		meta.Transactions += len(txs)
		for _, tx := range txs {
			if tx.Event != nil {
				meta.Transitions += len(tx.Event.Transitions)
			}
		}
		if b.GetHeader().GetNumber() >= last {
			break
		}
	}
	zw.Close()
	dir := filepath.Join(root, "testdata", "relay")
	os.MkdirAll(dir, 0o755)
	if err := os.WriteFile(filepath.Join(dir, "blocks.pb.gz"), raw.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	mb, _ := json.MarshalIndent(meta, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "blocks.json"), append(mb, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("recorded %d blocks, %d transactions, %d transitions (%d bytes gzipped); committed at %.0f transitions/s",
		meta.Blocks, meta.Transactions, meta.Transitions, raw.Len(), meta.CommitTransitionsS)
}
