package gateway

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"io"
	"os"
	"testing"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/proto"
)

// unpackEnvelopeFull is the reference: every nested message unmarshalled.
func unpackEnvelopeFull(b []byte) (*common.ChannelHeader, []byte, error) {
	env := &common.Envelope{}
	if err := proto.Unmarshal(b, env); err != nil {
		return nil, nil, err
	}
	payload := &common.Payload{}
	if err := proto.Unmarshal(env.GetPayload(), payload); err != nil {
		return nil, nil, err
	}
	hdr := &common.ChannelHeader{}
	if err := proto.Unmarshal(payload.GetHeader().GetChannelHeader(), hdr); err != nil {
		return nil, nil, err
	}
	tx := &peer.Transaction{}
	if err := proto.Unmarshal(payload.GetData(), tx); err != nil || len(tx.GetActions()) == 0 {
		return hdr, nil, err
	}
	ccp := &peer.ChaincodeActionPayload{}
	if err := proto.Unmarshal(tx.GetActions()[0].GetPayload(), ccp); err != nil {
		return nil, nil, err
	}
	prp := &peer.ProposalResponsePayload{}
	if err := proto.Unmarshal(ccp.GetAction().GetProposalResponsePayload(), prp); err != nil {
		return nil, nil, err
	}
	action := &peer.ChaincodeAction{}
	if err := proto.Unmarshal(prp.GetExtension(), action); err != nil {
		return nil, nil, err
	}
	return hdr, action.GetEvents(), nil
}

// TestUnpackEnvelopeMatchesFullUnmarshal walks every transaction of the
// blocks recorded on a real network (testdata/relay/) both ways.
func TestUnpackEnvelopeMatchesFullUnmarshal(t *testing.T) {
	f, err := os.Open("../testdata/relay/blocks.pb.gz")
	if err != nil {
		t.Fatal("the recorded blocks are part of the repository:", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(zr)
	envelopes, withEvents := 0, 0
	for {
		n, err := binary.ReadUvarint(br)
		if err != nil {
			break
		}
		raw := make([]byte, n)
		if _, err := io.ReadFull(br, raw); err != nil {
			t.Fatal(err)
		}
		var b common.Block
		if err := proto.Unmarshal(raw, &b); err != nil {
			t.Fatal(err)
		}
		for _, env := range b.GetData().GetData() {
			hdr, action, err := unpackEnvelope(env)
			if err != nil {
				t.Fatal(err)
			}
			wantHdr, wantEvents, err := unpackEnvelopeFull(env)
			if err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(hdr, wantHdr) || !bytes.Equal(action.GetEvents(), wantEvents) {
				t.Fatalf("block %d: envelope decoded differently", b.GetHeader().GetNumber())
			}
			envelopes++
			if len(wantEvents) > 0 {
				withEvents++
			}
			// A truncated envelope is an error, never a silent half-read.
			if _, _, err := unpackEnvelope(env[:len(env)/2]); err == nil {
				t.Fatalf("block %d: a truncated envelope decoded without error", b.GetHeader().GetNumber())
			}
		}
	}
	if envelopes == 0 || withEvents == 0 {
		t.Fatalf("%d envelopes, %d with events: nothing compared", envelopes, withEvents)
	}
}
