// Package jsclient drives the JavaScript automerge-repo 1.2.1 client of
// bench/reference (readdoc.mjs, edit.mjs): it reads a keepsync document as a
// JS app sees it, and writes app-side keys into it.
package jsclient

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Doc is a document read back from the sync server.
type Doc struct {
	DocumentID string          `json:"documentId"`
	Bytes      int64           `json:"bytes"`   // Automerge save() size
	Changes    int             `json:"changes"` // changes in its history
	Heads      []string        `json:"heads"`
	Doc        json.RawMessage `json:"doc,omitempty"`
}

// Client runs the scripts of bench/reference under Root.
type Client struct {
	Root string // repository root
}

func (c Client) dir() string { return filepath.Join(c.Root, "bench", "reference") }

// EnsureInstalled runs `npm ci` in bench/reference when its node_modules is
// missing.
func (c Client) EnsureInstalled(ctx context.Context) error {
	if _, err := os.Stat(filepath.Join(c.dir(), "node_modules", "@automerge", "automerge-repo")); err == nil {
		return nil
	}
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = c.dir()
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("npm ci in bench/reference: %w: %s", err, out)
	}
	return nil
}

// ReadDoc reads the document at path; with withJSON, Doc holds its content.
func (c Client) ReadDoc(ctx context.Context, syncURL, path string, withJSON bool) (Doc, error) {
	args := []string{"readdoc.mjs", "--sync-url", syncURL, "--path", path}
	if withJSON {
		args = append(args, "--json")
	}
	out, err := c.node(ctx, args...)
	if err != nil {
		return Doc{}, err
	}
	var d Doc
	if err := json.Unmarshal(out, &d); err != nil {
		return Doc{}, fmt.Errorf("readdoc output: %w", err)
	}
	return d, nil
}

// Edit runs fn, the body of a JavaScript function of `d` (the document, in
// handle.change), on the document at path and waits until the server has it.
func (c Client) Edit(ctx context.Context, syncURL, path, fn string) error {
	_, err := c.node(ctx, "edit.mjs", "--sync-url", syncURL, "--path", path, "--fn", fn)
	return err
}

func (c Client) node(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "node", args...)
	cmd.Dir = c.dir()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("node %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}
