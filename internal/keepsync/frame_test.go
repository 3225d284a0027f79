package keepsync

import (
	"bytes"
	"errors"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

func TestFrameRoundTrip(t *testing.T) {
	frames := []Frame{
		{Type: msgJoin, SenderID: "a", PeerMetadata: &PeerMetadata{IsEphemeral: true}, SupportedProtocolVersions: []string{"1"}},
		{Type: msgSync, SenderID: "a", TargetID: "b", DocumentID: "doc", Data: []byte{0x42, 1, 2}},
		{Type: msgRequest, SenderID: "a", TargetID: "b", DocumentID: "doc", Data: []byte{0x42}},
		{Type: msgPeer, SenderID: "server", TargetID: "a", PeerMetadata: &PeerMetadata{StorageID: "s"}, SelectedProtocolVersion: "1"},
	}
	for _, f := range frames {
		b, err := EncodeFrame(f)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeFrame(b)
		if err != nil {
			t.Fatalf("%s: %v", f.Type, err)
		}
		if got.Type != f.Type || got.DocumentID != f.DocumentID || !bytes.Equal(got.Data, f.Data) || got.SenderID != f.SenderID {
			t.Fatalf("round trip: got %+v want %+v", got, f)
		}
	}
}

func TestEncodeFrameKeysAreText(t *testing.T) {
	b, err := EncodeFrame(Frame{Type: msgSync, DocumentID: "d", Data: []byte{1}})
	if err != nil {
		t.Fatal(err)
	}
	var m map[any]any
	if err := cbor.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for k := range m {
		if _, ok := k.(string); !ok {
			t.Fatalf("key %v is not text", k)
		}
	}
	if _, ok := m["data"].([]byte); !ok {
		t.Fatalf("data is %T, want a byte string", m["data"])
	}
	if _, err := EncodeFrame(Frame{Type: msgSync, DocumentID: "d"}); err == nil {
		t.Fatal("a sync frame without data was encoded")
	}
}

func TestDecodeFrameBadInput(t *testing.T) {
	mk := func(v any) []byte {
		b, err := cbor.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cases := map[string][]byte{
		"empty":            nil,
		"garbage":          {0xff, 0x00, 0x13},
		"truncated":        mk(map[string]any{"type": "sync", "documentId": "x", "data": []byte{1, 2, 3}})[:10],
		"not a map":        mk([]any{1, 2}),
		"no type":          mk(map[string]any{"documentId": "x"}),
		"type not text":    mk(map[string]any{"type": 7}),
		"sync no data":     mk(map[string]any{"type": "sync", "documentId": "x"}),
		"sync no doc":      mk(map[string]any{"type": "sync", "data": []byte{1}}),
		"data not bytes":   mk(map[string]any{"type": "sync", "documentId": "x", "data": "text"}),
		"peer no sender":   mk(map[string]any{"type": "peer"}),
		"unavailable noid": mk(map[string]any{"type": "doc-unavailable"}),
	}
	for name, b := range cases {
		_, err := DecodeFrame(b)
		if !errors.Is(err, ErrProtocol) {
			t.Errorf("%s: err = %v, want a protocol error", name, err)
		}
	}
	// Messages this client does not use are accepted whatever their body.
	f, err := DecodeFrame(mk(map[string]any{"type": "ephemeral", "data": 12, "count": "x"}))
	if err != nil || f.Type != "ephemeral" {
		t.Fatalf("ephemeral: %+v, %v", f, err)
	}
}

func FuzzDecodeFrame(f *testing.F) {
	for _, fr := range []Frame{
		{Type: msgSync, SenderID: "a", TargetID: "b", DocumentID: "doc", Data: []byte{0x42, 0, 0}},
		{Type: msgPeer, SenderID: "s", PeerMetadata: &PeerMetadata{StorageID: "x"}, SelectedProtocolVersion: "1"},
		{Type: msgError, Message: "unsupported protocol version"},
		{Type: msgUnavailable, DocumentID: "doc"},
	} {
		b, _ := EncodeFrame(fr)
		f.Add(b)
	}
	f.Add([]byte{0xa1, 0x64, 't', 'y', 'p', 'e', 0x63, 'f', 'o', 'o'})
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := DecodeFrame(b)
		if err != nil {
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("error %v is not a protocol error", err)
			}
			return
		}
		if fr.Type == "" {
			t.Fatal("decoded a frame without a type")
		}
		if (fr.Type == msgSync || fr.Type == msgRequest) && (len(fr.Data) == 0 || fr.DocumentID == "") {
			t.Fatalf("accepted an incomplete %s frame", fr.Type)
		}
	})
}
