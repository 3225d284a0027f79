package keepsync

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/automerge/automerge-go"
)

// store keeps every document the client touches on disk, the way
// automerge-repo's storage subsystem does: one full snapshot per document
// plus incremental chunks written after each change, compacted into a new
// snapshot now and then.
//
// Layout under the data directory:
//
//	meta.json                      root document id (and a provisional root)
//	docs/<documentId>/snapshot     output of Doc.Save
//	docs/<documentId>/chunk-<seq>  output of Doc.SaveIncremental
//
// Every file is written to a temporary name, fsynced and renamed over its
// final name, so a crash leaves either the old or the new file, never a torn
// one. Loading applies the snapshot then the chunks in order; a chunk that
// was already folded into the snapshot applies as a no-op.
type store struct {
	dir string
	log *slog.Logger
}

// meta is what the client remembers outside documents.
type meta struct {
	RootID            DocumentID `json:"rootId,omitempty"`
	ProvisionalRootID DocumentID `json:"provisionalRootId,omitempty"`
}

const (
	snapshotName    = "snapshot"
	chunkPrefix     = "chunk-"
	maxChunks       = 32
	minCompactBytes = 64 << 10
)

func openStore(dir string, log *slog.Logger) (*store, error) {
	if dir == "" {
		return nil, errors.New("keepsync: Options.DataDir is empty")
	}
	if err := os.MkdirAll(filepath.Join(dir, "docs"), 0o700); err != nil {
		return nil, fmt.Errorf("keepsync: create store: %w", err)
	}
	return &store{dir: dir, log: log}, nil
}

func (s *store) loadMeta() (meta, error) {
	var m meta
	b, err := os.ReadFile(filepath.Join(s.dir, "meta.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return m, fmt.Errorf("keepsync: read store meta: %w", err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("keepsync: %s is corrupt: %w", filepath.Join(s.dir, "meta.json"), err)
	}
	for _, id := range []DocumentID{m.RootID, m.ProvisionalRootID} {
		if id != "" {
			if _, err := ParseDocumentID(string(id)); err != nil {
				return meta{}, fmt.Errorf("keepsync: %s: %w", filepath.Join(s.dir, "meta.json"), err)
			}
		}
	}
	return m, nil
}

func (s *store) saveMeta(m meta) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(s.dir, "meta.json"), b); err != nil {
		return fmt.Errorf("keepsync: save store meta: %w", err)
	}
	return nil
}

func (s *store) docDir(id DocumentID) string { return filepath.Join(s.dir, "docs", string(id)) }

// listDocs returns the ids of every stored document.
func (s *store) listDocs() ([]DocumentID, error) {
	ents, err := os.ReadDir(filepath.Join(s.dir, "docs"))
	if err != nil {
		return nil, fmt.Errorf("keepsync: list store: %w", err)
	}
	var ids []DocumentID
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		id, err := ParseDocumentID(e.Name())
		if err != nil {
			s.log.Warn("keepsync: ignoring unexpected entry in store", "name", e.Name())
			continue
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// stored is a document loaded from disk with its bookkeeping.
type stored struct {
	doc        *automerge.Doc
	nextSeq    int
	chunks     int
	chunkBytes int
	snapBytes  int
}

// load reads a document. It returns (nil, nil) when the document is not stored.
// A file that cannot be parsed is moved aside (name.corrupt-<time>) and
// reported, and the rest is still loaded.
func (s *store) load(id DocumentID) (*stored, error) {
	dir := s.docDir(id)
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("keepsync: load %s: %w", id, err)
	}
	st := &stored{}
	var chunks []int
	hasSnap := false
	for _, e := range ents {
		name := e.Name()
		switch {
		case name == snapshotName:
			hasSnap = true
		case strings.HasPrefix(name, chunkPrefix):
			if n, err := strconv.Atoi(strings.TrimPrefix(name, chunkPrefix)); err == nil {
				chunks = append(chunks, n)
			}
		case strings.HasSuffix(name, ".tmp"):
			_ = os.Remove(filepath.Join(dir, name)) // an interrupted write
		}
	}
	if !hasSnap && len(chunks) == 0 {
		return nil, nil
	}
	sort.Ints(chunks)
	st.doc = automerge.New()
	if hasSnap {
		b, err := os.ReadFile(filepath.Join(dir, snapshotName))
		if err != nil {
			return nil, fmt.Errorf("keepsync: load %s: %w", id, err)
		}
		doc, err := loadDoc(b)
		if err != nil {
			s.quarantine(dir, snapshotName, err)
		} else {
			st.doc = doc
			st.snapBytes = len(b)
		}
	}
	for _, n := range chunks {
		name := chunkName(n)
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("keepsync: load %s: %w", id, err)
		}
		if err := loadIncremental(st.doc, b); err != nil {
			s.quarantine(dir, name, err)
			continue
		}
		st.chunks++
		st.chunkBytes += len(b)
		if n >= st.nextSeq {
			st.nextSeq = n + 1
		}
	}
	return st, nil
}

func (s *store) quarantine(dir, name string, cause error) {
	to := fmt.Sprintf("%s.corrupt-%d", name, time.Now().UnixNano())
	s.log.Error("keepsync: stored file is unreadable; moved aside", "file", filepath.Join(dir, name), "to", to, "err", cause)
	_ = os.Rename(filepath.Join(dir, name), filepath.Join(dir, to))
}

func chunkName(n int) string { return fmt.Sprintf("%s%012d", chunkPrefix, n) }

// writeChunk stores one incremental chunk.
func (s *store) writeChunk(id DocumentID, seq int, data []byte) error {
	dir := s.docDir(id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("keepsync: store %s: %w", id, err)
	}
	if err := writeFileAtomic(filepath.Join(dir, chunkName(seq)), data); err != nil {
		return fmt.Errorf("keepsync: store %s: %w", id, err)
	}
	return nil
}

// writeSnapshot stores a full save and then removes the chunks it replaces
// (those numbered below upto).
func (s *store) writeSnapshot(id DocumentID, data []byte, upto int) error {
	dir := s.docDir(id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("keepsync: store %s: %w", id, err)
	}
	if err := writeFileAtomic(filepath.Join(dir, snapshotName), data); err != nil {
		return fmt.Errorf("keepsync: store %s: %w", id, err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil // the snapshot is safe; stale chunks apply as no-ops
	}
	for _, e := range ents {
		if n, err := strconv.Atoi(strings.TrimPrefix(e.Name(), chunkPrefix)); err == nil && strings.HasPrefix(e.Name(), chunkPrefix) && n < upto {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
	return nil
}

// writeFileAtomic writes data to path through a temporary file that is
// fsynced and renamed, then fsyncs the directory.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// loadDoc wraps automerge.Load, turning a panic in the cgo wrapper into an
// error: stored bytes are input too.
func loadDoc(b []byte) (doc *automerge.Doc, err error) {
	defer func() {
		if r := recover(); r != nil {
			doc, err = nil, fmt.Errorf("automerge load: %v", r)
		}
	}()
	return automerge.Load(b)
}

func loadIncremental(doc *automerge.Doc, b []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("automerge load incremental: %v", r)
		}
	}()
	return doc.LoadIncremental(b)
}
