package export

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// SavedList is one saved-list CSV as Google writes it.
type SavedList struct {
	Name        string
	Description string
	Rows        []ListRow
	// Warnings are problems that lost nothing (e.g. invalid UTF-8 replaced).
	Warnings []string
	// RowErrors are rows that could not be read; each loses an item.
	RowErrors []string
}

// ListRow is one item of a saved list.
type ListRow struct {
	Title, Note, URL, Comment string
	Tags                      []string
	// Line is the line of the row in the file (1-based), for messages.
	Line int
}

// DefaultMaxFieldBytes is the default cap on one CSV field: no title, note or
// URL that Google writes comes near it, and a row over it is reported, not
// kept.
const DefaultMaxFieldBytes = 1 << 20

// errNotSavedList is returned when a CSV has no Title/URL header: it is some
// other CSV.
var errNotSavedList = errors.New("no header with Title and URL columns: not a saved-list CSV")

// ParseSavedListCSV reads one saved-list CSV: an optional description line
// and blank line, then a header (Title, Note, URL, Comment and, in newer
// exports, Tags; matched by name, in any order), then one row per item.
// A UTF-8 BOM is skipped; fields may be quoted and hold commas and newlines.
// maxField caps one field (0 means DefaultMaxFieldBytes).
func ParseSavedListCSV(r io.Reader, name string, maxField int) (*SavedList, error) {
	var rows []ListRow
	l, err := parseSavedList(r, name, maxField, func(row ListRow) { rows = append(rows, row) })
	if l != nil {
		l.Rows = rows
	}
	return l, err
}

// parseSavedList is ParseSavedListCSV handing each row to onRow as it is
// read, so that a big list is never held twice.
func parseSavedList(r io.Reader, name string, maxField int, onRow func(ListRow)) (*SavedList, error) {
	if maxField <= 0 {
		maxField = DefaultMaxFieldBytes
	}
	br := bufio.NewReaderSize(r, 16<<10)
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, []byte{0xEF, 0xBB, 0xBF}) {
		_, _ = br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	cr.ReuseRecord = true

	list := &SavedList{Name: name}
	invalidUTF8 := false
	clean := func(s string) string {
		if !utf8.ValidString(s) {
			invalidUTF8 = true
			return strings.ToValidUTF8(s, "\uFFFD")
		}
		return s
	}

	// The header is the first record, or the second when the first is the
	// list's description (encoding/csv skips the blank line between them).
	var cols map[string]int
	for i := 0; i < 2 && cols == nil; i++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			if i == 0 {
				return nil, errors.New("empty file: not a saved-list CSV")
			}
			return nil, errNotSavedList
		}
		if err != nil {
			return nil, fmt.Errorf("read header: %w", err)
		}
		if c := headerColumns(rec); c != nil {
			cols = c
			break
		}
		if i == 0 {
			if tooLong(rec, maxField) {
				return nil, fmt.Errorf("line 1 is longer than %d bytes: not a saved-list CSV", maxField)
			}
			list.Description = clean(strings.TrimSpace(strings.Join(rec, ",")))
		}
	}
	if cols == nil {
		return nil, errNotSavedList
	}
	field := func(rec []string, name string) string {
		if i, ok := cols[name]; ok && i < len(rec) {
			return clean(strings.TrimSpace(rec[i]))
		}
		return ""
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) && !errors.Is(pe.Err, csv.ErrFieldCount) {
				list.RowErrors = append(list.RowErrors, fmt.Sprintf("line %d: %v", pe.StartLine, pe.Err))
				continue
			}
			return list, fmt.Errorf("read: %w", err)
		}
		if tooLong(rec, maxField) {
			list.RowErrors = append(list.RowErrors, fmt.Sprintf("line %d: a field is longer than %d bytes", line, maxField))
			continue
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		row := ListRow{
			Title:   field(rec, "title"),
			Note:    field(rec, "note"),
			URL:     field(rec, "url"),
			Comment: field(rec, "comment"),
			Line:    line,
		}
		if t := field(rec, "tags"); t != "" {
			row.Tags = splitTags(t)
		}
		onRow(row)
	}
	if invalidUTF8 {
		list.Warnings = append(list.Warnings, "text is not valid UTF-8; invalid bytes were replaced with U+FFFD")
	}
	return list, nil
}

// headerColumns maps lower-case column names to their index when rec is a
// saved-list header, else nil.
func headerColumns(rec []string) map[string]int {
	cols := make(map[string]int, len(rec))
	for i, h := range rec {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\uFEFF")))
		if _, dup := cols[h]; !dup {
			cols[h] = i
		}
	}
	_, title := cols["title"]
	_, u := cols["url"]
	if !title || !u {
		return nil
	}
	return cols
}

func tooLong(rec []string, max int) bool {
	for _, f := range rec {
		if len(f) > max {
			return true
		}
	}
	return false
}

// splitTags splits a Tags cell ("a, b" or "a; b") into trimmed tags.
func splitTags(s string) []string {
	var out []string
	for _, t := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' }) {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}
