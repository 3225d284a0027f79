package fakegoogle

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

func do(t *testing.T, method, url, token, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	data, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(data, &out)
	return resp.StatusCode, out
}

func TestJobLifecycle(t *testing.T) {
	s := New(t, WithPolls(1), WithArchives([]byte("zip-1"), []byte("zip-2")), WithToken("tok"))
	if code, _ := do(t, "POST", s.URL+"v1/portabilityArchive:initiate", "", `{"resources":["a"]}`); code != 401 {
		t.Fatalf("no token: %d", code)
	}
	code, out := do(t, "POST", s.URL+"v1/portabilityArchive:initiate", "tok", `{"resources":["a"]}`)
	id, _ := out["archiveJobId"].(string)
	if code != 200 || id == "" {
		t.Fatalf("initiate: %d %v", code, out)
	}
	code, out = do(t, "POST", s.URL+"v1/portabilityArchive:initiate", "tok", `{"resources":["a"]}`)
	if msg, _ := out["error"].(map[string]any)["message"].(string); code != 409 || !strings.Contains(msg, "job "+id+" matching") {
		t.Fatalf("second initiate: %d %v", code, out)
	}
	stateURL := s.URL + "v1/archiveJobs/" + id + "/portabilityArchiveState"
	if _, out = do(t, "GET", stateURL, "tok", ""); out["state"] != InProgress {
		t.Fatalf("poll 1: %v", out)
	}
	_, out = do(t, "GET", stateURL, "tok", "")
	urls, _ := out["urls"].([]any)
	if out["state"] != Complete || len(urls) != 2 {
		t.Fatalf("poll 2: %v", out)
	}
	resp, err := http.Get(urls[1].(string))
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(data) != "zip-2" {
		t.Fatalf("download: %q", data)
	}
	if resp, _ := http.Get(urls[1].(string)); resp.StatusCode != http.StatusGone {
		t.Fatalf("second use of a link: %d", resp.StatusCode)
	}
	if s.Count(Download, 200) != 1 || s.Count(Download, 410) != 1 || s.Count(Initiate, 409) != 1 {
		t.Errorf("log %+v", s.Requests())
	}
}

func TestFailureInjection(t *testing.T) {
	s := New(t, WithPolls(0))
	s.InjectErrors(AccessType, 429, 503)
	for _, want := range []int{429, 503, 200} {
		if code, _ := do(t, "POST", s.URL+"v1/accessType:check", "x", "{}"); code != want {
			t.Errorf("got %d want %d", code, want)
		}
	}
	s.FailJobs(1)
	_, out := do(t, "POST", s.URL+"v1/portabilityArchive:initiate", "x", `{"resources":["a"]}`)
	id := out["archiveJobId"].(string)
	if _, out = do(t, "GET", s.URL+"v1/archiveJobs/"+id+"/portabilityArchiveState", "x", ""); out["state"] != Failed {
		t.Fatalf("state %v", out)
	}
	code, out := do(t, "POST", s.URL+"v1/archiveJobs/"+id+":retry", "x", "{}")
	if code != 200 || out["archiveJobId"] == id {
		t.Fatalf("retry %d %v", code, out)
	}
	if code, _ := do(t, "POST", s.URL+"v1/archiveJobs/"+out["archiveJobId"].(string)+":retry", "x", "{}"); code != 400 {
		t.Errorf("retrying a job that did not fail: %d", code)
	}
}
