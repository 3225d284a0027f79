package export

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// Limits protect a run from hostile or broken archives. A file over a cap is
// reported as a Problem (the run is then incomplete), never read past it.
type Limits struct {
	// MaxEntries caps the entries of one zip. Default 100,000.
	MaxEntries int
	// MaxEntryBytes caps the uncompressed size of one file that is read.
	// Default 256 MiB.
	MaxEntryBytes int64
	// MaxTotalBytes caps the uncompressed bytes read in one run, over every
	// input. Default 1 GiB.
	MaxTotalBytes int64
	// MaxFieldBytes caps one CSV field; a row over it is reported and
	// dropped. Default 1 MiB.
	MaxFieldBytes int
}

// DefaultLimits returns the documented default caps: far above any real
// export of saved places (tens of MB at most), far below a zip bomb.
func DefaultLimits() Limits {
	return Limits{MaxEntries: 100_000, MaxEntryBytes: 256 << 20, MaxTotalBytes: 1 << 30, MaxFieldBytes: DefaultMaxFieldBytes}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxEntries <= 0 {
		l.MaxEntries = d.MaxEntries
	}
	if l.MaxEntryBytes <= 0 {
		l.MaxEntryBytes = d.MaxEntryBytes
	}
	if l.MaxTotalBytes <= 0 {
		l.MaxTotalBytes = d.MaxTotalBytes
	}
	if l.MaxFieldBytes <= 0 {
		l.MaxFieldBytes = d.MaxFieldBytes
	}
	return l
}

// ImportOptions configures Import.
type ImportOptions struct {
	Limits Limits
	// Logger gets debug lines about skipped files; nil discards them.
	Logger *slog.Logger
}

// ErrNoSavedPlaces means the inputs hold no saved list and no starred
// places file at all.
var ErrNoSavedPlaces = errors.New("no saved lists or starred places found")

// Import reads saved lists and starred places from paths — zips from Google
// Takeout or the Data Portability API, extracted folders (which may hold such
// zips), or single CSV/GeoJSON files — and merges them into one Snapshot
// with Source "archive". Files are found by content and path, whatever the
// language of folder names. Broken files become Problems and make the
// Snapshot incomplete; an error is returned only for a missing path, a
// cancelled context, or inputs with no saved places at all.
func Import(ctx context.Context, paths []string, opts ImportOptions) (*Snapshot, error) {
	return importFiles(ctx, paths, opts, "archive")
}

func importFiles(ctx context.Context, paths []string, opts ImportOptions, source string) (*Snapshot, error) {
	if len(paths) == 0 {
		return nil, errors.New("no input: give at least one archive or folder")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	lim := opts.Limits.withDefaults()
	b := newBuilder()
	col := &collector{b: b, lim: lim, log: log}
	defer col.close()
	for _, p := range paths {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := col.addPath(p); err != nil {
			return nil, err
		}
	}
	// Starred files first, then lists by name: see builder.
	slices.SortStableFunc(col.cands, func(a, c candidate) int {
		if a.json != c.json {
			if a.json {
				return -1
			}
			return 1
		}
		if n := strings.Compare(a.listName(), c.listName()); n != 0 {
			return n
		}
		return strings.Compare(a.display, c.display)
	})
	budget := &budget{left: lim.MaxTotalBytes}
	for _, c := range col.cands {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		col.read(ctx, c, budget)
	}
	if b.found == 0 {
		msg := fmt.Sprintf("%v in %s", ErrNoSavedPlaces, strings.Join(paths, ", "))
		var probs []string
		for _, p := range b.problems {
			probs = append(probs, p.File+": "+p.Message)
		}
		if len(probs) > 0 {
			msg += " (" + strings.Join(probs, "; ") + ")"
		}
		return nil, fmt.Errorf("%s: %w", msg, ErrNoSavedPlaces)
	}
	return b.snapshot(source), nil
}

// candidate is a file that may hold saved lists or starred places.
type candidate struct {
	display string // how messages name it: "a.zip:Takeout/Saved/X.csv"
	rel     string // slash path inside its archive or folder
	json    bool   // .json/.geojson, else .csv
	size    int64  // declared uncompressed size
	open    func() (io.ReadCloser, error)
}

func (c candidate) listName() string {
	if c.json {
		return ""
	}
	return strings.TrimSuffix(path.Base(c.rel), path.Ext(c.rel))
}

// hinted reports whether the path alone says the file holds saved places,
// so that failing to recognise its content is an error, not a skip.
func (c candidate) hinted() bool {
	lower := strings.ToLower(c.rel)
	if c.json {
		base := path.Base(lower)
		return base == "saved places.json" || strings.Contains(base, "starred")
	}
	return slices.Contains(strings.Split(path.Dir(lower), "/"), "saved")
}

type collector struct {
	b       *builder
	lim     Limits
	log     *slog.Logger
	cands   []candidate
	closers []io.Closer
}

func (col *collector) close() {
	for _, c := range col.closers {
		_ = c.Close()
	}
}

func (col *collector) unreadable(file, msg string) {
	col.b.counts.Skipped[SkipUnreadableFile]++
	col.b.problem(file, msg, true)
}

func (col *collector) addPath(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return fmt.Errorf("read input: %w", err)
	}
	if fi.IsDir() {
		return col.addDir(p)
	}
	return col.addFile(p, filepath.Base(p), fi.Size())
}

func (col *collector) addDir(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			col.unreadable(p, err.Error())
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() { // directories, and symlinks, which could leave the folder
			return nil
		}
		info, err := d.Info()
		if err != nil {
			col.unreadable(p, err.Error())
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		return col.addFile(p, filepath.ToSlash(rel), info.Size())
	})
}

// addFile adds a zip's entries, or a CSV/JSON file as it is.
func (col *collector) addFile(p, rel string, size int64) error {
	switch ext := strings.ToLower(path.Ext(rel)); ext {
	case ".csv", ".json", ".geojson":
		col.cands = append(col.cands, candidate{display: p, rel: rel, json: ext != ".csv", size: size,
			open: func() (io.ReadCloser, error) { return os.Open(p) }})
		return nil
	case ".zip":
		col.addZip(p)
		return nil
	}
	if isZip(p) {
		col.addZip(p)
		return nil
	}
	col.log.Debug("skipping file that is not a zip, CSV or JSON", "file", p)
	return nil
}

func isZip(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	var magic [4]byte
	if _, err := io.ReadFull(f, magic[:]); err != nil {
		return false
	}
	return bytes.Equal(magic[:], []byte("PK\x03\x04")) || bytes.Equal(magic[:], []byte("PK\x05\x06"))
}

func (col *collector) addZip(p string) {
	zr, err := zip.OpenReader(p)
	if err != nil {
		col.unreadable(p, fmt.Sprintf("not a readable zip archive (truncated or corrupt?): %v", err))
		return
	}
	col.closers = append(col.closers, zr)
	if n := len(zr.File); n > col.lim.MaxEntries {
		col.unreadable(p, fmt.Sprintf("zip has %d entries, more than the cap of %d (ARCHIVE_MAX_ENTRIES)", n, col.lim.MaxEntries))
		return
	}
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			continue
		}
		ext := strings.ToLower(path.Ext(f.Name))
		if ext != ".csv" && ext != ".json" && ext != ".geojson" {
			continue
		}
		display := p + ":" + f.Name
		if !safeEntryName(f.Name) {
			col.unreadable(display, "unsafe path in zip (absolute or with ..), skipped")
			continue
		}
		col.cands = append(col.cands, candidate{display: display, rel: f.Name, json: ext != ".csv",
			size: int64(min(f.UncompressedSize64, 1<<62)), open: f.Open})
	}
}

// safeEntryName rejects zip-slip names. Nothing is ever extracted to disk,
// but such a name means the archive was not written by Google.
func safeEntryName(name string) bool {
	if name == "" || strings.ContainsRune(name, '\\') || strings.HasPrefix(name, "/") || strings.Contains(name, ":") && len(name) > 1 && name[1] == ':' {
		return false
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return false
		}
	}
	return true
}

// budget is the uncompressed bytes left for the run.
type budget struct{ left int64 }

// capReader reads at most entry bytes of one file and at most the run's
// budget, and stops when ctx is done.
type capReader struct {
	ctx     context.Context
	r       io.Reader
	entry   int64 // bytes left for this file
	entCap  int64
	budget  *budget
	overrun error
}

var errOverCap = errors.New("over cap")

func (c *capReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	if c.entry <= 0 {
		c.overrun = fmt.Errorf("file is larger than the cap of %d bytes (ARCHIVE_MAX_FILE_BYTES): %w", c.entCap, errOverCap)
		return 0, c.overrun
	}
	if c.budget.left <= 0 {
		c.overrun = fmt.Errorf("run read more than the cap on total uncompressed bytes (ARCHIVE_MAX_TOTAL_BYTES): %w", errOverCap)
		return 0, c.overrun
	}
	if int64(len(p)) > c.entry {
		p = p[:c.entry]
	}
	if int64(len(p)) > c.budget.left {
		p = p[:c.budget.left]
	}
	n, err := c.r.Read(p)
	c.entry -= int64(n)
	c.budget.left -= int64(n)
	return n, err
}

// read parses one candidate into the builder.
func (col *collector) read(ctx context.Context, c candidate, bud *budget) {
	// An unrelated big file (Takeout holds many) is only sniffed; the cap is
	// enforced while reading in any case, since sizes in zips can lie.
	if c.size > col.lim.MaxEntryBytes && c.hinted() {
		col.unreadable(c.display, fmt.Sprintf("file is %d bytes uncompressed, larger than the cap of %d bytes (ARCHIVE_MAX_FILE_BYTES)", c.size, col.lim.MaxEntryBytes))
		return
	}
	rc, err := c.open()
	if err != nil {
		col.unreadable(c.display, fmt.Sprintf("open: %v", err))
		return
	}
	defer rc.Close()
	cr := &capReader{ctx: ctx, r: rc, entry: col.lim.MaxEntryBytes + 1, entCap: col.lim.MaxEntryBytes, budget: bud}
	if c.json {
		col.readStarred(c, cr)
	} else {
		col.readList(c, cr)
	}
}

func (col *collector) readStarred(c candidate, r io.Reader) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(64 << 10)
	looksStarred := bytes.Contains(head, []byte("FeatureCollection")) &&
		(bytes.Contains(head, []byte("google_maps_url")) || bytes.Contains(head, []byte("Google Maps URL")))
	if !looksStarred && !c.hinted() {
		col.log.Debug("skipping JSON that is not starred places", "file", c.display)
		return
	}
	sf, err := ParseStarredGeoJSON(br)
	if err == nil {
		// Read to the end: a zip entry's checksum is checked only there,
		// and places parsed from a damaged entry may be garbage.
		_, err = io.Copy(io.Discard, br)
	}
	if err != nil {
		col.unreadable(c.display, fmt.Sprintf("starred places: %v", err))
		return
	}
	col.b.found++
	for _, w := range sf.Warnings {
		col.b.problem(c.display, w, false)
	}
	col.b.itemErrors(c.display, sf.FeatureErrors)
	for _, p := range sf.Places {
		col.b.addStarred(p)
	}
}

func (col *collector) readList(c candidate, r io.Reader) {
	name := c.listName()
	// Rows are held until the file has been read to its end: a zip entry's
	// checksum is only checked there, and rows read before a damaged byte or
	// a truncation may be garbage (a cut URL is another place). A file that
	// fails to read contributes no rows at all.
	var rows []ListRow
	sl, err := parseSavedList(r, name, col.lim.MaxFieldBytes, func(row ListRow) {
		rows = append(rows, row)
	})
	if sl == nil {
		if !c.hinted() && err != nil && !isReadError(err) {
			col.log.Debug("skipping CSV that is not a saved list", "file", c.display, "reason", err)
			return
		}
		col.unreadable(c.display, fmt.Sprintf("saved list: %v", err))
		return
	}
	if err != nil {
		col.unreadable(c.display, fmt.Sprintf("saved list %q could not be read to its end, so none of its %d rows read were used: %v", name, len(rows), err))
		return
	}
	col.b.found++
	col.b.addList(name, sl.Description)
	for _, row := range rows {
		col.b.addRow(name, row)
	}
	for _, w := range sl.Warnings {
		col.b.problem(c.display, w, false)
	}
	col.b.itemErrors(c.display, sl.RowErrors)
}

// isReadError tells an I/O failure (corrupt zip entry, cap, cancellation)
// from content that simply is not a saved list.
func isReadError(err error) bool {
	return errors.Is(err, zip.ErrChecksum) || errors.Is(err, zip.ErrFormat) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, errOverCap) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
