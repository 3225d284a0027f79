package keepsync

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"time"

	"github.com/automerge/automerge-go"
)

// SetValue stores v under key in m the way a JavaScript app would have
// written it: strings as text, Go integers as int64, fractions as float64,
// maps as maps (recursively, deleting keys that v lacks), slices as lists
// (replaced whole), nil as null. It does nothing and returns false when the
// stored value already equals v, so that unchanged data produces no change.
//
// Accepted values: nil, bool, string, every integer and float type,
// json.Number, time.Time (as int64 milliseconds), map[string]T and []T of
// those.
func SetValue(m *automerge.Map, key string, v any) (changed bool, err error) {
	v, err = normalizeJSON(v)
	if err != nil {
		return false, fmt.Errorf("keepsync: value for %q: %w", key, err)
	}
	cur, err := m.Get(key)
	if err != nil {
		return false, fmt.Errorf("keepsync: read %q: %w", key, err)
	}
	switch v := v.(type) {
	case map[string]any:
		if cur.Kind() == automerge.KindMap {
			return setMap(cur.Map(), v)
		}
		nm := automerge.NewMap()
		if err := m.Set(key, nm); err != nil {
			return false, fmt.Errorf("keepsync: set %q: %w", key, err)
		}
		if _, err := setMap(nm, v); err != nil {
			return false, err
		}
		return true, nil
	case []any:
		if !cur.IsVoid() && reflect.DeepEqual(ToGo(cur), v) {
			return false, nil
		}
		nl := automerge.NewList()
		if err := m.Set(key, nl); err != nil {
			return false, fmt.Errorf("keepsync: set %q: %w", key, err)
		}
		if err := appendList(nl, v); err != nil {
			return false, fmt.Errorf("keepsync: set %q: %w", key, err)
		}
		return true, nil
	case string:
		switch cur.Kind() {
		case automerge.KindText:
			s, err := cur.Text().Get()
			if err != nil {
				return false, err
			}
			if s == v {
				return false, nil
			}
			if err := cur.Text().Set(v); err != nil {
				return false, fmt.Errorf("keepsync: set %q: %w", key, err)
			}
			return true, nil
		}
		if err := m.Set(key, automerge.NewText(v)); err != nil {
			return false, fmt.Errorf("keepsync: set %q: %w", key, err)
		}
		return true, nil
	default:
		if !cur.IsVoid() && scalarEqual(ToGo(cur), v) && cur.Kind() != automerge.KindStr {
			return false, nil
		}
		if err := m.Set(key, v); err != nil {
			return false, fmt.Errorf("keepsync: set %q: %w", key, err)
		}
		return true, nil
	}
}

// setMap makes m hold exactly the keys of v (keepsync's writeDoc).
func setMap(m *automerge.Map, v map[string]any) (bool, error) {
	changed := false
	for k, val := range v {
		c, err := SetValue(m, k, val)
		if err != nil {
			return false, err
		}
		changed = changed || c
	}
	keys, err := m.Keys()
	if err != nil {
		return false, err
	}
	for _, k := range keys {
		if _, ok := v[k]; !ok {
			if err := m.Delete(k); err != nil {
				return false, fmt.Errorf("keepsync: delete %q: %w", k, err)
			}
			changed = true
		}
	}
	return changed, nil
}

func appendList(l *automerge.List, vs []any) error {
	for _, v := range vs {
		switch v := v.(type) {
		case map[string]any:
			nm := automerge.NewMap()
			if err := l.Append(nm); err != nil {
				return err
			}
			if _, err := setMap(nm, v); err != nil {
				return err
			}
		case []any:
			nl := automerge.NewList()
			if err := l.Append(nl); err != nil {
				return err
			}
			if err := appendList(nl, v); err != nil {
				return err
			}
		case string:
			if err := l.Append(automerge.NewText(v)); err != nil {
				return err
			}
		default:
			if err := l.Append(v); err != nil {
				return err
			}
		}
	}
	return nil
}

func scalarEqual(a, b any) bool {
	switch a := a.(type) {
	case int64:
		switch b := b.(type) {
		case int64:
			return a == b
		case float64:
			return float64(a) == b
		}
	case float64:
		switch b := b.(type) {
		case int64:
			return a == float64(b)
		case float64:
			return a == b || (math.IsNaN(a) && math.IsNaN(b))
		}
	case bool:
		b, ok := b.(bool)
		return ok && a == b
	case nil:
		return b == nil
	}
	return false
}

// normalizeJSON turns v into nil, bool, string, int64, float64,
// map[string]any or []any.
func normalizeJSON(v any) (any, error) {
	switch x := v.(type) {
	case nil, bool, string, int64, float64, map[string]any, []any:
		if m, ok := x.(map[string]any); ok {
			out := make(map[string]any, len(m))
			for k, e := range m {
				n, err := normalizeJSON(e)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", k, err)
				}
				out[k] = n
			}
			return out, nil
		}
		if l, ok := x.([]any); ok {
			out := make([]any, len(l))
			for i, e := range l {
				n, err := normalizeJSON(e)
				if err != nil {
					return nil, fmt.Errorf("[%d]: %w", i, err)
				}
				out[i] = n
			}
			return out, nil
		}
		return x, nil
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i, nil
		}
		f, err := x.Float64()
		if err != nil {
			return nil, fmt.Errorf("bad number %q", x)
		}
		return f, nil
	case time.Time:
		return x.UnixMilli(), nil
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		u := rv.Uint()
		if u > math.MaxInt64 {
			return float64(u), nil
		}
		return int64(u), nil
	case reflect.Float32, reflect.Float64:
		return rv.Float(), nil
	case reflect.String:
		return rv.String(), nil
	case reflect.Bool:
		return rv.Bool(), nil
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return nil, nil
		}
		return normalizeJSON(rv.Elem().Interface())
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.IsNil() {
			return nil, nil
		}
		out := make([]any, rv.Len())
		for i := range out {
			n, err := normalizeJSON(rv.Index(i).Interface())
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out[i] = n
		}
		return out, nil
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return nil, fmt.Errorf("unsupported map key type %s", rv.Type().Key())
		}
		if rv.IsNil() {
			return nil, nil
		}
		out := make(map[string]any, rv.Len())
		it := rv.MapRange()
		for it.Next() {
			n, err := normalizeJSON(it.Value().Interface())
			if err != nil {
				return nil, fmt.Errorf("%s: %w", it.Key().String(), err)
			}
			out[it.Key().String()] = n
		}
		return out, nil
	case reflect.Struct:
		// Structs go through their JSON form, honouring json tags.
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		var out any
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		if err := dec.Decode(&out); err != nil {
			return nil, err
		}
		return normalizeJSON(out)
	}
	return nil, fmt.Errorf("unsupported type %T", v)
}

// ToGo converts an Automerge value into plain Go: map[string]any, []any,
// string (from text or scalar strings), int64, float64, bool, []byte or nil.
// Counters read as int64 and timestamps as int64 milliseconds.
func ToGo(v *automerge.Value) any {
	if v == nil {
		return nil
	}
	switch v.Kind() {
	case automerge.KindMap:
		vals, err := v.Map().Values()
		if err != nil {
			return nil
		}
		out := make(map[string]any, len(vals))
		for k, e := range vals {
			out[k] = ToGo(e)
		}
		return out
	case automerge.KindList:
		vals, err := v.List().Values()
		if err != nil {
			return nil
		}
		out := make([]any, len(vals))
		for i, e := range vals {
			out[i] = ToGo(e)
		}
		return out
	case automerge.KindText:
		s, _ := v.Text().Get()
		return s
	case automerge.KindStr:
		return v.Str()
	case automerge.KindInt64:
		return v.Int64()
	case automerge.KindUint64:
		u := v.Uint64()
		if u > math.MaxInt64 {
			return float64(u)
		}
		return int64(u)
	case automerge.KindFloat64:
		return v.Float64()
	case automerge.KindBool:
		return v.Bool()
	case automerge.KindBytes:
		return v.Bytes()
	case automerge.KindCounter:
		n, _ := v.Counter().Get()
		return n
	case automerge.KindTime:
		return v.Time().UnixMilli()
	}
	return nil
}

// GetString reads a text or scalar string field of m ("" and false when
// absent or not a string).
func GetString(m *automerge.Map, key string) (string, bool) {
	v, err := m.Get(key)
	if err != nil {
		return "", false
	}
	s, ok := ToGo(v).(string)
	return s, ok
}
