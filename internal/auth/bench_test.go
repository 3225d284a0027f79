package auth

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// BenchmarkTokenCached is the cost of Token() on every API request while the
// access token is valid: a lock and a copy, no I/O.
func BenchmarkTokenCached(b *testing.B) {
	path := filepath.Join(b.TempDir(), "token.json")
	s := &stored{Token: &oauth2.Token{AccessToken: "a", RefreshToken: "r", Expiry: time.Now().Add(time.Hour)}}
	if err := writeTokenFile(path, s); err != nil {
		b.Fatal(err)
	}
	ts, err := TokenSource(context.Background(), &oauth2.Config{}, path, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ts.Token(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriteTokenFile is one atomic save: temp file, fsync, rename,
// directory fsync. It happens once per refresh (about hourly).
func BenchmarkWriteTokenFile(b *testing.B) {
	path := filepath.Join(b.TempDir(), "token.json")
	now := time.Now().UTC()
	s := &stored{
		Token: &oauth2.Token{AccessToken: "ya29.a0AfB_example", RefreshToken: "1//0example", TokenType: "Bearer", Expiry: now.Add(time.Hour)},
		Scope: ScopePrefix + "saved.collections " + ScopePrefix + "maps.starred_places",
		Grant: &Grant{GrantedAt: now, AccessType: AccessTimeBased, TimeBasedResources: testResources, CheckedAt: &now},
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := writeTokenFile(path, s); err != nil {
			b.Fatal(err)
		}
	}
}
