package auth

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestStatus(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	full := ScopePrefix + "saved.collections " + ScopePrefix + "maps.starred_places"
	for _, tc := range []struct {
		name      string
		file      string // "" means no file
		canExport bool
		problem   string
	}{
		{"no file", "", false, "not signed in"},
		{"good", `{"access_token":"a","refresh_token":"r","scope":"` + full + `","expiry":"2026-06-01T13:00:00Z","grant":{"granted_at":"2026-05-01T00:00:00Z","access_type":"time-based"}}`, true, ""},
		{"expired access, refresh present", `{"access_token":"a","refresh_token":"r","scope":"` + full + `","expiry":"2026-06-01T11:00:00Z"}`, true, ""},
		{"expired, no refresh", `{"access_token":"a","scope":"` + full + `","expiry":"2026-06-01T11:00:00Z"}`, false, "no refresh token"},
		{"missing scope", `{"access_token":"a","refresh_token":"r","scope":"` + ScopePrefix + `saved.collections"}`, false, "maps.starred_places"},
		{"rejected", `{"access_token":"a","refresh_token":"r","scope":"` + full + `","grant":{"granted_at":"2026-05-01T00:00:00Z","rejected_at":"2026-05-31T00:00:00Z"}}`, false, "rejected"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "token.json")
			if tc.file != "" {
				if err := os.WriteFile(path, []byte(tc.file), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			st, err := Status(path, testResources, now)
			if err != nil {
				t.Fatal(err)
			}
			if st.CanExport != tc.canExport || !strings.Contains(st.Problem, tc.problem) {
				t.Errorf("CanExport=%v Problem=%q; want %v and a problem containing %q", st.CanExport, st.Problem, tc.canExport, tc.problem)
			}
			if st.TokenPresent != (tc.file != "") {
				t.Errorf("TokenPresent = %v", st.TokenPresent)
			}
		})
	}
}

func TestStatusWarnsAboutOpenModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "open")
	os.Mkdir(dir, 0o755)
	path := filepath.Join(dir, "token.json")
	os.WriteFile(path, []byte(`{"access_token":"a","refresh_token":"r"}`), 0o644)
	os.Chmod(path, 0o644)
	st, err := Status(path, testResources, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	w := strings.Join(st.Warnings, "\n")
	if !strings.Contains(w, "chmod 600") || !strings.Contains(w, "chmod 700") {
		t.Errorf("warnings %q should name both modes", st.Warnings)
	}
}

func TestStatusCorruptFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token.json")
	os.WriteFile(path, []byte(`{"access_token":"SECRET`), 0o600)
	_, err := Status(path, testResources, time.Now())
	if err == nil || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("err = %v, want an error without the file content", err)
	}
}
