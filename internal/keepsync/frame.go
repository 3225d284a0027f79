package keepsync

import (
	"errors"
	"fmt"

	"github.com/fxamacker/cbor/v2"
)

// Message types of the automerge-repo network protocol.
const (
	msgJoin        = "join"
	msgPeer        = "peer"
	msgError       = "error"
	msgRequest     = "request"
	msgSync        = "sync"
	msgUnavailable = "doc-unavailable"
	msgLeave       = "leave"
)

// ignoredTypes are messages the server may send that this client does not
// use; they are dropped without error.
var ignoredTypes = map[string]bool{
	msgLeave:                     true,
	"ephemeral":                  true,
	"remote-heads-changed":       true,
	"remote-subscription-change": true,
}

// PeerMetadata is what a peer says about itself in the handshake.
type PeerMetadata struct {
	IsEphemeral bool   `cbor:"isEphemeral"`
	StorageID   string `cbor:"storageId,omitempty"`
}

// Frame is one message of the automerge-repo WebSocket protocol: a CBOR map
// with text keys, sent as one binary WebSocket message.
type Frame struct {
	Type                      string        `cbor:"type"`
	SenderID                  string        `cbor:"senderId,omitempty"`
	TargetID                  string        `cbor:"targetId,omitempty"`
	DocumentID                string        `cbor:"documentId,omitempty"`
	Data                      []byte        `cbor:"data,omitempty"`
	Message                   string        `cbor:"message,omitempty"`
	PeerMetadata              *PeerMetadata `cbor:"peerMetadata,omitempty"`
	SupportedProtocolVersions []string      `cbor:"supportedProtocolVersions,omitempty"`
	SelectedProtocolVersion   string        `cbor:"selectedProtocolVersion,omitempty"`
}

// frameCodec holds the CBOR modes; they are immutable once built.
type frameCodec struct {
	enc cbor.EncMode
	dec cbor.DecMode
}

func newFrameCodec() frameCodec {
	enc, err := cbor.EncOptions{Sort: cbor.SortNone}.EncMode()
	if err != nil {
		panic(err) // static options
	}
	dec, err := cbor.DecOptions{
		MaxNestedLevels:   16,
		MaxArrayElements:  1 << 16,
		MaxMapPairs:       1 << 12,
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthAllowed,
		ExtraReturnErrors: cbor.ExtraDecErrorNone,
	}.DecMode()
	if err != nil {
		panic(err) // static options
	}
	return frameCodec{enc: enc, dec: dec}
}

// EncodeFrame returns the CBOR encoding of f.
func EncodeFrame(f Frame) ([]byte, error) {
	return newFrameCodec().encode(f)
}

// DecodeFrame parses one frame and checks the fields its type requires.
// Frames of types this client ignores decode to a Frame with only Type set.
func DecodeFrame(b []byte) (Frame, error) {
	return newFrameCodec().decode(b)
}

func (c frameCodec) encode(f Frame) ([]byte, error) {
	if (f.Type == msgSync || f.Type == msgRequest) && len(f.Data) == 0 {
		return nil, fmt.Errorf("keepsync: %s frame for %s has no data", f.Type, f.DocumentID)
	}
	b, err := c.enc.Marshal(f)
	if err != nil {
		return nil, fmt.Errorf("keepsync: encode %s frame: %w", f.Type, err)
	}
	return b, nil
}

// typeOnly reads just the type of a frame, whatever its other fields hold.
type typeOnly struct {
	Type any `cbor:"type"`
}

func (c frameCodec) decode(b []byte) (Frame, error) {
	if len(b) == 0 {
		return Frame{}, protoErr("empty frame")
	}
	var t typeOnly
	if err := c.dec.Unmarshal(b, &t); err != nil {
		return Frame{}, protoErr("malformed frame: %v", err)
	}
	typ, ok := t.Type.(string)
	if !ok || typ == "" {
		return Frame{}, protoErr("frame without a message type")
	}
	if ignoredTypes[typ] {
		return Frame{Type: typ}, nil
	}
	var f Frame
	if err := c.dec.Unmarshal(b, &f); err != nil {
		return Frame{}, protoErr("malformed %q frame: %v", typ, err)
	}
	switch typ {
	case msgPeer:
		if f.SenderID == "" {
			return Frame{}, protoErr("peer frame without senderId")
		}
	case msgError:
		if f.Message == "" {
			f.Message = "(no message)"
		}
	case msgSync, msgRequest:
		if f.DocumentID == "" {
			return Frame{}, protoErr("%s frame without documentId", typ)
		}
		if len(f.Data) == 0 {
			return Frame{}, protoErr("%s frame for %s without data", typ, f.DocumentID)
		}
	case msgUnavailable:
		if f.DocumentID == "" {
			return Frame{}, protoErr("doc-unavailable frame without documentId")
		}
	}
	return f, nil
}

// ProtocolError is a violation of the sync protocol by the server: a frame
// that does not parse, a message this client cannot process, an error frame.
// It matches ErrProtocol with errors.Is.
type ProtocolError struct{ Msg string }

func (e *ProtocolError) Error() string        { return "keepsync: protocol error: " + e.Msg }
func (e *ProtocolError) Is(target error) bool { return target == ErrProtocol }

func protoErr(format string, args ...any) error {
	return &ProtocolError{Msg: fmt.Sprintf(format, args...)}
}

// Sentinel errors, to be matched with errors.Is.
var (
	// ErrNotFound means no document exists at the path (or the server does
	// not have the document).
	ErrNotFound = errors.New("keepsync: not found")
	// ErrNotADirectory means a path segment names a document, not a directory.
	ErrNotADirectory = errors.New("keepsync: not a directory")
	// ErrUnavailable means the operation needed the server and could not
	// reach it (or got no answer) before the context ended.
	ErrUnavailable = errors.New("keepsync: server unavailable")
	// ErrProtocol means the server broke the protocol; see ProtocolError.
	ErrProtocol = errors.New("keepsync: protocol error")
	// ErrClosed means the client was closed.
	ErrClosed = errors.New("keepsync: client closed")
	// ErrInvalidPath means the path cannot name a document.
	ErrInvalidPath = errors.New("keepsync: invalid path")
)
