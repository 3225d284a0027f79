package soak

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tonk-labs/locations-worker/bench/internal/days"
	"github.com/tonk-labs/locations-worker/bench/internal/jsclient"
	"github.com/tonk-labs/locations-worker/bench/internal/proc"
	"github.com/tonk-labs/locations-worker/bench/internal/repo"
	"github.com/tonk-labs/locations-worker/bench/internal/syncserver"
	"github.com/tonk-labs/locations-worker/internal/archivegen"
	"github.com/tonk-labs/locations-worker/internal/export"
	"github.com/tonk-labs/locations-worker/internal/synctest/proxy"
)

const docPath = "/google-maps/places"

func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		t.Fatalf("%s=%q: want a non-negative integer", name, v)
	}
	return n
}

// faults counts what was injected.
type faults struct {
	ServerKills, NetworkDrops, WorkerKills, CorruptArchives, AppEdits, FailedAppEdits int
}

// sample is one reading of the worker process.
type sample struct {
	cycle, pid int
	rssKiB     int64
	fds        int
}

// expectation is what the final document must hold.
type expectation struct {
	final *export.Snapshot
	// offered: every key of every archive given to the worker (including
	// the intact version of corrupt ones): anything the document may hold.
	offered map[string]bool
	// written: keys of archives whose run completed and synced: the
	// document must hold them (marked removed if not in final).
	written map[string]bool
	// appKeys: place key → field → value written by the JS app.
	appKeys map[string]map[string]string
}

func TestSoak(t *testing.T) {
	cycles := envInt(t, "SOAK_CYCLES", 12)
	items := envInt(t, "SOAK_ITEMS", 400)
	seed := int64(envInt(t, "SOAK_SEED", 1))
	if cycles < 6 {
		t.Fatalf("SOAK_CYCLES=%d: need at least 6 cycles to inject every kind of fault", cycles)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(cycles)*2*time.Minute+5*time.Minute)
	defer cancel()

	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	js := jsclient.Client{Root: root}
	if err := js.EnsureInstalled(ctx); err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	bin := os.Getenv("SOAK_BIN")
	if bin == "" {
		bin = filepath.Join(tmp, "locations-worker")
		build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/locations-worker")
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("build locations-worker: %v\n%s", err, out)
		}
	} else if !filepath.IsAbs(bin) {
		bin = filepath.Join(root, bin)
	}

	srv, err := syncserver.Start(ctx, syncserver.Options{Root: root, Dir: filepath.Join(tmp, "server")})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Stop() }()
	// The worker reaches the server through a proxy that can drop the
	// network while the server goes on running (and holds the dead
	// connection until its keepalive gives up on it).
	px, err := proxy.Start(ctx, srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer px.Close()

	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(tmp, "export.zip")
	dataDir := filepath.Join(tmp, "data")
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	w := &workerProc{bin: bin, archive: archive, dataDir: dataDir, syncURL: "http://" + px.Addr(), docPath: docPath,
		port: port, logFile: filepath.Join(tmp, "worker.log")}

	rng := rand.New(rand.NewPCG(uint64(seed), 0x50a4))
	model := archivegen.Generate(days.Options(seed, items))
	exp := &expectation{offered: map[string]bool{}, written: map[string]bool{}, appKeys: map[string]map[string]string{}}
	var f faults
	var samples []sample
	var lastGood *export.Snapshot
	runTime := 500 * time.Millisecond // how long a run takes, to aim faults inside it

	// Write the first archive before the worker starts.
	if lastGood, err = writeArchive(ctx, model, archive, exp); err != nil {
		t.Fatal(err)
	}
	if err := w.start(ctx); err != nil {
		t.Fatal(err)
	}
	defer w.kill()

	for c := 1; c <= cycles; c++ {
		last := c == cycles
		// The fault plan of this cycle: every kind at least once in
		// cycles 2 to 5, then at random. The first and last cycles are
		// clean; the one before the last drops the network, so that the last
		// run's data goes out on a new connection.
		killServer, dropNetwork, killWorker, corrupt, appEdit := false, false, false, false, false
		if !last {
			switch c {
			case 1:
			case cycles - 1:
				dropNetwork = true
			case 2:
				killServer, appEdit = true, true
			case 3:
				killWorker, appEdit = true, true
			case 4:
				corrupt = true
			case 5:
				dropNetwork, appEdit = true, true
			default:
				killServer = rng.IntN(100) < 25
				dropNetwork = rng.IntN(100) < 20
				killWorker = rng.IntN(100) < 25
				corrupt = rng.IntN(100) < 15
				appEdit = rng.IntN(100) < 40
			}
		}

		// Next archive.
		if c > 1 {
			model = model.NextDay(seed*1000+int64(c), days.Churn(items, 0.03))
			if corrupt {
				if err := writeCorrupt(ctx, model, archive, exp, rng); err != nil {
					t.Fatal(err)
				}
				f.CorruptArchives++
			} else if lastGood, err = writeArchive(ctx, model, archive, exp); err != nil {
				t.Fatal(err)
			}
		}

		// A JS app writes its own key on a place the document holds.
		if appEdit && len(exp.written) > 0 {
			key := pick(exp.written, rng)
			val := fmt.Sprintf("cycle %d ✓", c)
			fn := fmt.Sprintf(`const p = d.places && d.places[%q]; if (!p) throw new Error("no place"); p.soakNote = %q;`, key, val)
			if err := js.Edit(ctx, srv.URL(), docPath, fn); err != nil {
				t.Logf("cycle %d: app edit failed (not counted): %v", c, err)
				f.FailedAppEdits++
			} else {
				if exp.appKeys[key] == nil {
					exp.appKeys[key] = map[string]string{}
				}
				exp.appKeys[key]["soakNote"] = val
				f.AppEdits++
			}
		}

		id, err := w.trigger()
		if err != nil {
			t.Fatalf("cycle %d: %v", c, err)
		}
		start := time.Now()

		if killServer {
			time.Sleep(time.Duration(rng.Int64N(int64(runTime) + 1)))
			if srv, err = srv.Restart(ctx); err != nil {
				t.Fatalf("cycle %d: restart sync server: %v", c, err)
			}
			f.ServerKills++
		}
		if dropNetwork {
			time.Sleep(time.Duration(rng.Int64N(int64(runTime) + 1)))
			px.Sever()
			f.NetworkDrops++
		}
		if killWorker {
			time.Sleep(time.Duration(rng.Int64N(int64(runTime) + 1)))
			w.kill()
			f.WorkerKills++
			if err := w.start(ctx); err != nil {
				t.Fatalf("cycle %d: restart worker: %v", c, err)
			}
			// The killed run may or may not have finished; run the same
			// archive again so that this cycle's data is written.
			if id, err = w.trigger(); err != nil {
				t.Fatalf("cycle %d: %v", c, err)
			}
		}

		r, err := w.wait(ctx, id, 3*time.Minute)
		if err != nil {
			t.Fatalf("cycle %d: %v", c, err)
		}
		if !corrupt && r.Result == "success" {
			runTime = time.Since(start)
			if r.Sync == "synced" {
				for k := range keysOf(lastGood) {
					exp.written[k] = true
				}
			}
		}
		if corrupt && r.Result == "success" {
			t.Errorf("cycle %d: a corrupt archive gave a successful run", c)
		}
		if !corrupt && r.Result != "success" {
			t.Errorf("cycle %d: run %s on an intact archive: result %q, error %q", c, id, r.Result, r.Error)
		}
		if s, err := proc.Read(w.pid()); err == nil {
			samples = append(samples, sample{cycle: c, pid: w.pid(), rssKiB: s.RSSKiB, fds: s.FDs})
		}
		t.Logf("cycle %d: run %s result=%s sync=%q complete=%v serverKill=%v networkDrop=%v workerKill=%v corrupt=%v appEdit=%v (%s)",
			c, id, r.Result, r.Sync, r.Complete, killServer, dropNetwork, killWorker, corrupt, appEdit, time.Since(start).Round(time.Millisecond))
	}
	exp.final = lastGood

	// The JS client must see exactly the expected model (the last run may
	// still be syncing after a late server restart: wait for it).
	var diffs []string
	var doc jsDoc
	deadline := time.Now().Add(2 * time.Minute)
	for {
		doc, err = readPlaces(ctx, js, srv.URL())
		if err == nil {
			diffs = compare(doc, exp)
			if len(diffs) == 0 {
				break
			}
		} else {
			diffs = []string{err.Error()}
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	if d := treeDiffs(ctx, js, srv.URL()); len(d) > 0 {
		diffs = append(diffs, d...)
	}

	// Clean shutdown within pm2's window.
	stopStart := time.Now()
	if err := w.stop(); err != nil {
		t.Errorf("shutdown: %v", err)
	}

	t.Logf("soak: %d cycles, %d items; faults: %d sync-server kills, %d network drops, %d worker SIGKILLs, %d corrupt archives, %d app edits (%d failed); %d differences",
		cycles, items, f.ServerKills, f.NetworkDrops, f.WorkerKills, f.CorruptArchives, f.AppEdits, f.FailedAppEdits, len(diffs))
	t.Logf("soak: final document: %d places (%d active), %d app keys checked; shutdown took %s",
		len(doc.Places), len(exp.final.Places), len(exp.appKeys), time.Since(stopStart).Round(time.Millisecond))
	reportResources(t, samples)
	for i, d := range diffs {
		if i == 30 {
			t.Errorf("... and %d more differences", len(diffs)-30)
			break
		}
		t.Errorf("difference: %s", d)
	}
	if t.Failed() {
		t.Logf("worker log tail:\n%s", w.logTail())
	}
}

func keysOf(s *export.Snapshot) map[string]bool {
	out := map[string]bool{}
	for _, p := range s.Places {
		out[p.Key] = true
	}
	return out
}

func pick(set map[string]bool, rng *rand.Rand) string {
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys[rng.IntN(len(keys))]
}

// writeArchive writes m as the worker's archive (atomically) and returns
// the snapshot it must produce.
func writeArchive(ctx context.Context, m *archivegen.Model, path string, exp *expectation) (*export.Snapshot, error) {
	if err := days.Write(m, path); err != nil {
		return nil, err
	}
	snap, err := export.Import(ctx, []string{path}, export.ImportOptions{})
	if err != nil {
		return nil, fmt.Errorf("read back the generated archive: %w", err)
	}
	if !snap.Complete {
		return nil, fmt.Errorf("generated archive reads as incomplete: %v", snap.Problems)
	}
	for _, p := range snap.Places {
		exp.offered[p.Key] = true
	}
	return snap, nil
}

// writeCorrupt writes a damaged version of m: truncated (unreadable), or
// with bytes flipped inside (a list fails its checksum, the rest reads).
func writeCorrupt(ctx context.Context, m *archivegen.Model, path string, exp *expectation, rng *rand.Rand) error {
	good := archivegen.ZipBytes(m.Files(archivegen.Portability))
	// What the intact archive holds is all the damaged one could add.
	tmp := path + ".intact"
	if err := os.WriteFile(tmp, good, 0o644); err != nil {
		return err
	}
	defer os.Remove(tmp)
	snap, err := export.Import(ctx, []string{tmp}, export.ImportOptions{})
	if err != nil {
		return err
	}
	for _, p := range snap.Places {
		exp.offered[p.Key] = true
	}
	bad := bytes.Clone(good)
	if rng.IntN(2) == 0 {
		bad = bad[:len(bad)/2]
	} else {
		for i := len(bad) / 3; i < len(bad)/3+64 && i < len(bad); i++ {
			bad[i] ^= 0x5a
		}
	}
	if err := os.WriteFile(path+".tmp", bad, 0o644); err != nil {
		return err
	}
	return os.Rename(path+".tmp", path)
}

type jsDoc struct {
	Places   map[string]map[string]any `json:"places"`
	Metadata map[string]any            `json:"metadata"`
}

func readPlaces(ctx context.Context, js jsclient.Client, url string) (jsDoc, error) {
	var d jsDoc
	raw, err := js.ReadDoc(ctx, url, docPath, true)
	if err != nil {
		return d, err
	}
	if err := json.Unmarshal(raw.Doc, &d); err != nil {
		return d, fmt.Errorf("document as JSON: %w", err)
	}
	return d, nil
}

// compare lists every way doc differs from the expectation.
func compare(doc jsDoc, exp *expectation) []string {
	var diffs []string
	want := map[string]*export.Place{}
	for i := range exp.final.Places {
		want[exp.final.Places[i].Key] = &exp.final.Places[i]
	}
	cids := map[string]string{}
	for key, p := range want {
		got, ok := doc.Places[key]
		if !ok {
			diffs = append(diffs, fmt.Sprintf("place %s missing", key))
			continue
		}
		if _, gone := got["removedAt"]; gone {
			diffs = append(diffs, fmt.Sprintf("place %s marked removed but in the last archive", key))
		}
		if got["key"] != key {
			diffs = append(diffs, fmt.Sprintf("place %s: key field %v", key, got["key"]))
		}
		if got["title"] != p.Title {
			diffs = append(diffs, fmt.Sprintf("place %s: title %q, want %q", key, got["title"], p.Title))
		}
		starred, _ := got["starred"].(bool)
		if starred != p.Starred {
			diffs = append(diffs, fmt.Sprintf("place %s: starred %v, want %v", key, got["starred"], p.Starred))
		}
		var lists []string
		if lm, ok := got["lists"].(map[string]any); ok {
			for name := range lm {
				lists = append(lists, name)
			}
		}
		wantLists := listNames(p)
		sort.Strings(lists)
		sort.Strings(wantLists)
		if strings.Join(lists, "|") != strings.Join(wantLists, "|") {
			diffs = append(diffs, fmt.Sprintf("place %s: lists %v, want %v", key, lists, wantLists))
		}
		if cid, _ := got["cid"].(string); cid != "" {
			if other, dup := cids[cid]; dup {
				diffs = append(diffs, fmt.Sprintf("places %s and %s share cid %s", other, key, cid))
			}
			cids[cid] = key
		}
	}
	for key, got := range doc.Places {
		if want[key] != nil {
			continue
		}
		if !exp.offered[key] {
			diffs = append(diffs, fmt.Sprintf("place %s is in no archive given to the worker", key))
		}
		if _, gone := got["removedAt"]; !gone {
			diffs = append(diffs, fmt.Sprintf("place %s not in the last archive but not marked removed", key))
		}
	}
	for key := range exp.written {
		if _, ok := doc.Places[key]; !ok {
			diffs = append(diffs, fmt.Sprintf("place %s was written and synced once, but is gone from the document", key))
		}
	}
	for key, fields := range exp.appKeys {
		for field, val := range fields {
			if got := doc.Places[key][field]; got != val {
				diffs = append(diffs, fmt.Sprintf("app key places[%s].%s = %v, want %q", key, field, got, val))
			}
		}
	}
	sort.Strings(diffs)
	return diffs
}

// listNames returns the names of the lists p is in, as its JSON form (the
// object keyed by list name that the document holds) has them.
func listNames(p *export.Place) []string {
	var m map[string]json.RawMessage
	b, err := json.Marshal(p.Lists)
	if err != nil || json.Unmarshal(b, &m) != nil {
		return nil
	}
	names := make([]string, 0, len(m))
	for name := range m {
		names = append(names, name)
	}
	return names
}

// treeDiffs checks keepsync's path tree: one entry per name on the way.
func treeDiffs(ctx context.Context, js jsclient.Client, url string) []string {
	raw, err := js.ReadDoc(ctx, url, "/google-maps", true)
	if err != nil {
		return []string{"read /google-maps: " + err.Error()}
	}
	var dir struct {
		Type     string `json:"type"`
		Children []struct {
			Name string `json:"name"`
			Type string `json:"type"`
		} `json:"children"`
	}
	if err := json.Unmarshal(raw.Doc, &dir); err != nil {
		return []string{"/google-maps as JSON: " + err.Error()}
	}
	n := 0
	for _, c := range dir.Children {
		if c.Name == "places" {
			n++
		}
	}
	if dir.Type != "dir" || n != 1 {
		return []string{fmt.Sprintf("/google-maps: type %q with %d entries named places, want a dir with one", dir.Type, n)}
	}
	return nil
}

// reportResources logs RSS and open fds of the worker, first vs last, for
// the whole soak and for the longest-lived worker process; a process whose
// descriptors keep growing fails the test.
func reportResources(t *testing.T, s []sample) {
	if len(s) == 0 {
		t.Log("resources: no samples")
		return
	}
	first, last := s[0], s[len(s)-1]
	t.Logf("resources: worker RSS %d KiB → %d KiB, open fds %d → %d (cycle %d → %d, over %d worker process(es))",
		first.rssKiB, last.rssKiB, first.fds, last.fds, first.cycle, last.cycle, countPIDs(s))
	byPID := map[int][]sample{}
	for _, x := range s {
		byPID[x.pid] = append(byPID[x.pid], x)
	}
	var longest []sample
	for _, xs := range byPID {
		if len(xs) > len(longest) {
			longest = xs
		}
	}
	a, b := longest[0], longest[len(longest)-1]
	t.Logf("resources: longest-lived worker (%d samples, cycles %d → %d): RSS %d KiB → %d KiB, open fds %d → %d",
		len(longest), a.cycle, b.cycle, a.rssKiB, b.rssKiB, a.fds, b.fds)
	if len(longest) >= 5 && b.fds > a.fds+8 {
		t.Errorf("open file descriptors grew from %d to %d over %d cycles of one worker process", a.fds, b.fds, len(longest))
	}
}

func countPIDs(s []sample) int {
	m := map[int]bool{}
	for _, x := range s {
		m[x.pid] = true
	}
	return len(m)
}
