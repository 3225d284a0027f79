package keepsync

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"
)

// DocumentID is an automerge-repo document id: the base58 (Bitcoin alphabet)
// encoding of 16 UUID bytes followed by a 4-byte double-SHA-256 checksum.
type DocumentID string

// URL returns the automerge URL of the document ("automerge:<id>").
func (id DocumentID) URL() string { return "automerge:" + string(id) }

const b58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

// NewDocumentID returns a fresh document id made from a random UUID v4.
// automerge-repo 1.x rejects ids whose bytes are not a valid UUID v4, so the
// version and variant bits are always set.
func NewDocumentID() (DocumentID, error) {
	var u [16]byte
	if _, err := rand.Read(u[:]); err != nil {
		return "", fmt.Errorf("keepsync: new document id: %w", err)
	}
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // variant 10
	return DocumentID(b58CheckEncode(u[:])), nil
}

// ParseDocumentID checks that s is a well-formed document id (base58check of
// 16 bytes) and returns it. Ids come from the network and become file names
// in the local store, so nothing else is ever accepted.
func ParseDocumentID(s string) (DocumentID, error) {
	s = trimURL(s)
	if s == "" || len(s) > 40 {
		return "", fmt.Errorf("keepsync: invalid document id %q", s)
	}
	raw, err := b58Decode(s)
	if err != nil {
		return "", fmt.Errorf("keepsync: invalid document id %q: %w", s, err)
	}
	if len(raw) != 20 {
		return "", fmt.Errorf("keepsync: invalid document id %q: %d bytes, want 16 + checksum", s, len(raw))
	}
	sum := checksum(raw[:16])
	if string(sum[:]) != string(raw[16:]) {
		return "", fmt.Errorf("keepsync: invalid document id %q: bad checksum", s)
	}
	// Round-trip so that only the canonical encoding is accepted.
	if b58CheckEncode(raw[:16]) != s {
		return "", fmt.Errorf("keepsync: invalid document id %q: not canonical", s)
	}
	return DocumentID(s), nil
}

func trimURL(s string) string {
	const p = "automerge:"
	if len(s) > len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}

func checksum(b []byte) [4]byte {
	h1 := sha256.Sum256(b)
	h2 := sha256.Sum256(h1[:])
	return [4]byte{h2[0], h2[1], h2[2], h2[3]}
}

func b58CheckEncode(payload []byte) string {
	sum := checksum(payload)
	return b58Encode(append(append([]byte{}, payload...), sum[:]...))
}

func b58Encode(b []byte) string {
	zeros := 0
	for zeros < len(b) && b[zeros] == 0 {
		zeros++
	}
	n := new(big.Int).SetBytes(b)
	base := big.NewInt(58)
	mod := new(big.Int)
	var out []byte
	for n.Sign() > 0 {
		n.DivMod(n, base, mod)
		out = append(out, b58Alphabet[mod.Int64()])
	}
	for i := 0; i < zeros; i++ {
		out = append(out, '1')
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return string(out)
}

var errBadBase58 = errors.New("not base58")

func b58Decode(s string) ([]byte, error) {
	n := new(big.Int)
	base := big.NewInt(58)
	zeros := 0
	for zeros < len(s) && s[zeros] == '1' {
		zeros++
	}
	for i := 0; i < len(s); i++ {
		idx := -1
		for j := 0; j < len(b58Alphabet); j++ {
			if b58Alphabet[j] == s[i] {
				idx = j
				break
			}
		}
		if idx < 0 {
			return nil, errBadBase58
		}
		n.Mul(n, base)
		n.Add(n, big.NewInt(int64(idx)))
	}
	return append(make([]byte, zeros), n.Bytes()...), nil
}

// newPeerID returns a random peer id, for one connection.
func newPeerID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("locations-worker-%x", b)
}
