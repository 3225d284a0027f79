package worker

import (
	"fmt"
	"slices"
	"strings"

	"github.com/automerge/automerge-go"
)

// The helpers below write a value only when it differs from what the
// document holds: Automerge records every assignment, even of an equal value,
// so writing blindly would grow the history on every run.

// setText makes m[key] the Automerge text s. An existing text is edited with
// one splice covering only the part that differs; an existing scalar string
// is replaced by text, since JavaScript apps only see text as a JS string.
func setText(m *automerge.Map, key, s string) (bool, error) {
	v, err := m.Get(key)
	if err != nil {
		return false, fmt.Errorf("read %s: %w", key, err)
	}
	if v.Kind() == automerge.KindText {
		cur, err := v.Text().Get()
		if err != nil {
			return false, fmt.Errorf("read %s: %w", key, err)
		}
		if cur == s {
			return false, nil
		}
		pos, del, ins := spliceDiff(cur, s)
		if err := v.Text().Splice(pos, del, ins); err != nil {
			return false, fmt.Errorf("write %s: %w", key, err)
		}
		return true, nil
	}
	if err := m.Set(key, automerge.NewText(s)); err != nil {
		return false, fmt.Errorf("write %s: %w", key, err)
	}
	return true, nil
}

// spliceDiff returns the smallest single splice (in code points) that turns
// a into b: keep the common prefix and suffix, replace the middle.
func spliceDiff(a, b string) (pos, del int, ins string) {
	ar, br := []rune(a), []rune(b)
	p := 0
	for p < len(ar) && p < len(br) && ar[p] == br[p] {
		p++
	}
	s := 0
	for s < len(ar)-p && s < len(br)-p && ar[len(ar)-1-s] == br[len(br)-1-s] {
		s++
	}
	return p, len(ar) - p - s, string(br[p : len(br)-s])
}

// setInt makes m[key] the integer n (stored as an Automerge int, which
// JavaScript reads as a number).
func setInt(m *automerge.Map, key string, n int64) (bool, error) {
	v, err := m.Get(key)
	if err != nil {
		return false, fmt.Errorf("read %s: %w", key, err)
	}
	if v.Kind() == automerge.KindInt64 && v.Int64() == n {
		return false, nil
	}
	if err := m.Set(key, n); err != nil {
		return false, fmt.Errorf("write %s: %w", key, err)
	}
	return true, nil
}

// setFloat makes m[key] the float64 f.
func setFloat(m *automerge.Map, key string, f float64) (bool, error) {
	v, err := m.Get(key)
	if err != nil {
		return false, fmt.Errorf("read %s: %w", key, err)
	}
	if v.Kind() == automerge.KindFloat64 && v.Float64() == f {
		return false, nil
	}
	if err := m.Set(key, f); err != nil {
		return false, fmt.Errorf("write %s: %w", key, err)
	}
	return true, nil
}

// setBool makes m[key] the boolean b.
func setBool(m *automerge.Map, key string, b bool) (bool, error) {
	v, err := m.Get(key)
	if err != nil {
		return false, fmt.Errorf("read %s: %w", key, err)
	}
	if v.Kind() == automerge.KindBool && v.Bool() == b {
		return false, nil
	}
	if err := m.Set(key, b); err != nil {
		return false, fmt.Errorf("write %s: %w", key, err)
	}
	return true, nil
}

// setTextList makes m[key] a list of texts equal to ss, replacing the list
// whole when it differs (lists of tags are short).
func setTextList(m *automerge.Map, key string, ss []string) (bool, error) {
	v, err := m.Get(key)
	if err != nil {
		return false, fmt.Errorf("read %s: %w", key, err)
	}
	if v.Kind() == automerge.KindList {
		cur, err := readStrings(v.List())
		if err == nil && slices.Equal(cur, ss) {
			return false, nil
		}
	}
	l := automerge.NewList()
	if err := m.Set(key, l); err != nil {
		return false, fmt.Errorf("write %s: %w", key, err)
	}
	for _, s := range ss {
		if err := l.Append(automerge.NewText(s)); err != nil {
			return false, fmt.Errorf("write %s: %w", key, err)
		}
	}
	return true, nil
}

// readStrings reads a list whose items are all texts or strings.
func readStrings(l *automerge.List) ([]string, error) {
	vals, err := l.Values()
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(vals))
	for _, v := range vals {
		s, ok := stringOf(v)
		if !ok {
			return nil, fmt.Errorf("list item of kind %v is not a string", v.Kind())
		}
		out = append(out, s)
	}
	return out, nil
}

// stringOf reads a text or a scalar string.
func stringOf(v *automerge.Value) (string, bool) {
	switch v.Kind() {
	case automerge.KindText:
		s, err := v.Text().Get()
		return s, err == nil
	case automerge.KindStr:
		return v.Str(), true
	}
	return "", false
}

// deleteKey removes m[key] if it is there.
func deleteKey(m *automerge.Map, key string) (bool, error) {
	v, err := m.Get(key)
	if err != nil {
		return false, fmt.Errorf("read %s: %w", key, err)
	}
	if v.IsVoid() {
		return false, nil
	}
	if err := m.Delete(key); err != nil {
		return false, fmt.Errorf("delete %s: %w", key, err)
	}
	return true, nil
}

// ensureMap returns the map at m[key], creating it when the key is absent.
// Any other value there is an error: it is not ours to overwrite.
func ensureMap(m *automerge.Map, key string) (*automerge.Map, bool, error) {
	v, err := m.Get(key)
	if err != nil {
		return nil, false, fmt.Errorf("read %s: %w", key, err)
	}
	switch v.Kind() {
	case automerge.KindMap:
		return v.Map(), false, nil
	case automerge.KindVoid, automerge.KindNull:
		nm := automerge.NewMap()
		if err := m.Set(key, nm); err != nil {
			return nil, false, fmt.Errorf("create %s: %w", key, err)
		}
		return nm, true, nil
	}
	return nil, false, fmt.Errorf("%s holds a %v, expected a map; refusing to overwrite it", key, v.Kind())
}

// validUTF8 replaces invalid UTF-8 (Automerge refuses it) so that one bad
// byte in an archive never stops a run.
func validUTF8(s string) string {
	return strings.ToValidUTF8(s, "\uFFFD")
}
