package keepsync

import (
	"strings"
	"testing"
)

func TestNewDocumentIDIsUUIDv4(t *testing.T) {
	seen := map[DocumentID]bool{}
	for i := 0; i < 200; i++ {
		id, err := NewDocumentID()
		if err != nil {
			t.Fatal(err)
		}
		if seen[id] {
			t.Fatalf("duplicate id %s", id)
		}
		seen[id] = true
		raw, err := b58Decode(string(id))
		if err != nil || len(raw) != 20 {
			t.Fatalf("id %s decodes to %d bytes, %v", id, len(raw), err)
		}
		if raw[6]>>4 != 4 || raw[8]>>6 != 2 {
			t.Fatalf("id %s: not a UUID v4 (% x)", id, raw[:16])
		}
		if _, err := ParseDocumentID(string(id)); err != nil {
			t.Fatal(err)
		}
		if _, err := ParseDocumentID(id.URL()); err != nil {
			t.Fatal(err)
		}
	}
}

func TestParseDocumentID(t *testing.T) {
	// A document id produced by automerge-repo (JS) for a UUID v4.
	good := b58CheckEncode([]byte{0x3f, 0x2a, 0x1b, 0x00, 0x9e, 0x44, 0x4c, 0x1a, 0x8d, 0x21, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55})
	if _, err := ParseDocumentID(good); err != nil {
		t.Fatalf("ParseDocumentID(%q): %v", good, err)
	}
	bad := []string{
		"",
		"../../etc/passwd",
		"0OIl",
		good[:len(good)-1] + string(rune(good[len(good)-1]^1)),
		b58CheckEncode([]byte{1, 2, 3}),
		strings.Repeat("z", 100),
	}
	for _, s := range bad {
		if _, err := ParseDocumentID(s); err == nil {
			t.Errorf("ParseDocumentID(%q) accepted a bad id", s)
		}
	}
}
