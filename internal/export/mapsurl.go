package export

import (
	"net/url"
	"strconv"
	"strings"
)

// MapsRef is what a Google Maps URL says about a place, without any network
// call.
type MapsRef struct {
	// IsMaps is true for Google Maps URLs (places, searches, coordinates and
	// short links); false for web pages, shopping items, images...
	IsMaps bool
	// Short is true for short links (maps.app.goo.gl, goo.gl/maps): they hide
	// every id and are kept as they are.
	Short bool
	// FeatureID is "0x<hex>:0x<hex>" (lower case) from a !1s…:… or ftid= part.
	FeatureID string
	// CID is the decimal customer id: from ?cid= or the second half of the
	// feature id read as an unsigned 64-bit number.
	CID string
	// PlaceID is a Places API id (ChIJ…) from query_place_id=, place_id= or
	// "place_id:".
	PlaceID string
	// Lat and Lng are valid only when HasCoords is true. A pin (!3d…!4d…) wins
	// over ?q=lat,lng, which wins over the viewport centre (@lat,lng).
	Lat, Lng  float64
	HasCoords bool
}

// ParseMapsURL reads the identity and coordinates of a place from a Google
// Maps URL. It never fails: a string that is not a Maps URL gives a MapsRef
// with IsMaps false.
func ParseMapsURL(raw string) MapsRef {
	var ref MapsRef
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return ref
	}
	host, path, query, ok := splitURL(raw)
	if !ok {
		return ref
	}
	switch {
	case host == "maps.app.goo.gl" || host == "goo.gl" && strings.HasPrefix(path, "/maps") || host == "g.co" && strings.HasPrefix(path, "/kgs"):
		ref.IsMaps, ref.Short = true, true
		return ref
	case isGoogleHost(host, "maps."):
		ref.IsMaps = true
	case isGoogleHost(host, "www.") || isGoogleHost(host, ""):
		ref.IsMaps = path == "/maps" || strings.HasPrefix(path, "/maps/")
	}
	if !ref.IsMaps {
		return ref
	}
	q := queryValues{query}

	// Identity.
	if fid := featureIDIn(path); fid != "" {
		ref.FeatureID = fid
	} else if fid := normFeatureID(q.Get("ftid")); fid != "" {
		ref.FeatureID = fid
	}
	if ref.FeatureID != "" {
		ref.CID = cidOfFeatureID(ref.FeatureID)
	}
	if c := q.Get("cid"); c != "" {
		if n, err := strconv.ParseUint(strings.TrimSpace(c), 10, 64); err == nil && n != 0 {
			if ref.CID == "" {
				ref.CID = strconv.FormatUint(n, 10)
			}
		}
	}
	for _, k := range []string{"query_place_id", "place_id", "destination_place_id"} {
		if p := q.Get(k); validPlaceID(p) {
			ref.PlaceID = p
			break
		}
	}
	if ref.PlaceID == "" {
		for _, k := range []string{"q", "query"} {
			if v, ok := strings.CutPrefix(q.Get(k), "place_id:"); ok && validPlaceID(v) {
				ref.PlaceID = v
				break
			}
		}
	}

	// Coordinates.
	if lat, lng, ok := pinIn(path); ok {
		ref.Lat, ref.Lng, ref.HasCoords = lat, lng, true
	} else if lat, lng, ok := latLngPair(firstNonEmpty(q.Get("q"), q.Get("query"), q.Get("ll"))); ok {
		ref.Lat, ref.Lng, ref.HasCoords = lat, lng, true
	} else if lat, lng, ok := viewportIn(path); ok {
		ref.Lat, ref.Lng, ref.HasCoords = lat, lng, true
	}
	return ref
}

// splitURL splits an absolute http(s) URL into its lower-case host (without
// port or user info), its path and its raw query, without the allocations of
// net/url: this runs once per saved item.
func splitURL(raw string) (host, path, query string, ok bool) {
	var rest string
	switch {
	case len(raw) > 8 && strings.EqualFold(raw[:8], "https://"):
		rest = raw[8:]
	case len(raw) > 7 && strings.EqualFold(raw[:7], "http://"):
		rest = raw[7:]
	default:
		return "", "", "", false
	}
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		rest, query = rest[:i], rest[i+1:]
	}
	host, path = rest, ""
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		host, path = rest[:i], rest[i:]
	}
	if i := strings.LastIndexByte(host, '@'); i >= 0 {
		host = host[i+1:]
	}
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		host = host[:i]
	}
	if host == "" {
		return "", "", "", false
	}
	return toLowerASCII(host), path, query, true
}

func toLowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}

// queryValues reads values from a raw query string without building a map.
type queryValues struct{ raw string }

// Get returns the first value of key, unescaped ("" when absent or invalid).
func (q queryValues) Get(key string) string {
	rest := q.raw
	for rest != "" {
		var pair string
		pair, rest, _ = strings.Cut(rest, "&")
		k, v, _ := strings.Cut(pair, "=")
		if k != key {
			continue
		}
		if strings.ContainsAny(v, "%+") {
			u, err := url.QueryUnescape(v)
			if err != nil {
				return ""
			}
			return u
		}
		return v
	}
	return ""
}

// isGoogleHost reports whether host is prefix + "google." + a public suffix
// such as com, de, co.uk or com.au.
func isGoogleHost(host, prefix string) bool {
	rest, ok := strings.CutPrefix(host, prefix+"google.")
	if !ok || rest == "" || len(rest) > 6 {
		return false
	}
	for _, r := range rest {
		if (r < 'a' || r > 'z') && r != '.' {
			return false
		}
	}
	return !strings.HasPrefix(rest, ".") && !strings.HasSuffix(rest, ".")
}

// featureIDIn finds "!1s0x…:0x…" in a data= path segment.
func featureIDIn(path string) string {
	for i := 0; ; {
		j := strings.Index(path[i:], "!1s0x")
		if j < 0 {
			return ""
		}
		start := i + j + 3
		end := start
		for end < len(path) && path[end] != '!' && path[end] != '/' && path[end] != '?' {
			end++
		}
		cand := strings.ReplaceAll(path[start:end], "%3A", ":")
		cand = strings.ReplaceAll(cand, "%3a", ":")
		if fid := normFeatureID(cand); fid != "" {
			return fid
		}
		i = start
	}
}

// normFeatureID validates "0x<hex>:0x<hex>" and lower-cases it.
func normFeatureID(s string) string {
	a, b, ok := strings.Cut(strings.ToLower(strings.TrimSpace(s)), ":")
	if !ok || !isHex0x(a) || !isHex0x(b) {
		return ""
	}
	return a + ":" + b
}

func isHex0x(s string) bool {
	h, ok := strings.CutPrefix(s, "0x")
	if !ok || h == "" || len(h) > 16 {
		return false
	}
	for _, r := range h {
		if (r < '0' || r > '9') && (r < 'a' || r > 'f') {
			return false
		}
	}
	return true
}

// cidOfFeatureID is the second half of a feature id as an unsigned decimal.
func cidOfFeatureID(fid string) string {
	_, b, _ := strings.Cut(fid, ":")
	n, err := strconv.ParseUint(strings.TrimPrefix(b, "0x"), 16, 64)
	if err != nil || n == 0 {
		return ""
	}
	return strconv.FormatUint(n, 10)
}

func validPlaceID(s string) bool {
	if len(s) < 10 || len(s) > 1024 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// pinIn finds "!3d<lat>!4d<lng>" (the place's own pin) in a path.
func pinIn(path string) (lat, lng float64, ok bool) {
	i := strings.LastIndex(path, "!3d")
	if i < 0 {
		return 0, 0, false
	}
	rest := path[i+3:]
	latS, rest, found := strings.Cut(rest, "!4d")
	if !found {
		return 0, 0, false
	}
	lngS := rest
	if k := strings.IndexAny(lngS, "!/?"); k >= 0 {
		lngS = lngS[:k]
	}
	return checkLatLng(latS, lngS)
}

// viewportIn finds "/@<lat>,<lng>,<zoom>z" in a path.
func viewportIn(path string) (lat, lng float64, ok bool) {
	i := strings.Index(path, "/@")
	if i < 0 {
		return 0, 0, false
	}
	rest := path[i+2:]
	if k := strings.IndexAny(rest, "/?"); k >= 0 {
		rest = rest[:k]
	}
	parts := strings.SplitN(rest, ",", 3)
	if len(parts) < 2 {
		return 0, 0, false
	}
	return checkLatLng(parts[0], parts[1])
}

// latLngPair reads "lat,lng" (spaces allowed), as in ?q=41.9,-87.6.
func latLngPair(s string) (lat, lng float64, ok bool) {
	a, b, found := strings.Cut(s, ",")
	if !found {
		return 0, 0, false
	}
	return checkLatLng(strings.TrimSpace(a), strings.TrimSpace(b))
}

func checkLatLng(latS, lngS string) (lat, lng float64, ok bool) {
	lat, err1 := strconv.ParseFloat(latS, 64)
	lng, err2 := strconv.ParseFloat(lngS, 64)
	if err1 != nil || err2 != nil || !validLatLng(lat, lng) {
		return 0, 0, false
	}
	return lat, lng, true
}

// validLatLng rejects NaN, out-of-range values and [0,0], which Google uses
// for "unknown".
func validLatLng(lat, lng float64) bool {
	if lat != lat || lng != lng || lat < -90 || lat > 90 || lng < -180 || lng > 180 {
		return false
	}
	return lat != 0 || lng != 0
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
