package gen

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDeterministic(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"a.zip", "b.zip"} {
		a := New(Config{Seed: 7, Items: 2000})
		if err := a.NextDay(8, 0.01).WriteZip(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	x, _ := os.ReadFile(filepath.Join(dir, "a.zip"))
	y, _ := os.ReadFile(filepath.Join(dir, "b.zip"))
	if !bytes.Equal(x, y) {
		t.Fatal("same seed gave different archives")
	}
}

func TestShapeAndChurn(t *testing.T) {
	a := New(Config{Seed: 1, Items: 5000})
	if got := a.Items(); got != 5000 {
		t.Fatalf("items = %d, want 5000", got)
	}
	if len(a.Lists) != 10 || len(a.Starred) == 0 {
		t.Fatalf("lists = %d, starred = %d", len(a.Lists), len(a.Starred))
	}
	same := a.NextDay(2, 0)
	if !bytes.Equal(same.Lists[3].CSV(), a.Lists[3].CSV()) || !bytes.Equal(same.StarredJSON(), a.StarredJSON()) {
		t.Fatal("a no-churn day changed the data")
	}
	b := a.NextDay(2, 0.01)
	changed := 0
	before, after := a.Places(), b.Places()
	for k := range before {
		if !after[k] {
			changed++
		}
	}
	for k := range after {
		if !before[k] {
			changed++
		}
	}
	if changed == 0 || changed > 50 {
		t.Fatalf("1%% churn of 5000 changed %d places' presence", changed)
	}
	// Every CSV parses with its header after the optional description.
	for _, l := range b.Lists {
		body := string(l.CSV())
		if l.Description != "" {
			if !strings.HasPrefix(body, l.Description+"\n\nTitle,") {
				t.Fatalf("list %q: description not first", l.Name)
			}
			body = body[len(l.Description)+2:]
		}
		recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
		if err != nil {
			t.Fatalf("list %q: %v", l.Name, err)
		}
		if len(recs) != len(l.Items)+1 {
			t.Fatalf("list %q: %d records for %d items", l.Name, len(recs), len(l.Items))
		}
	}
	path := filepath.Join(t.TempDir(), "x.zip")
	if err := b.WriteZip(path); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	if len(zr.File) != len(b.Lists)+1 {
		t.Fatalf("zip has %d files", len(zr.File))
	}
}
