package export

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestEntriesKeepOrderAndJSONForm(t *testing.T) {
	var es Entries
	es.upsert("Vienna").Note = "cake"
	es.upsert("Berlin").Comment = "<b>&"
	es.upsert("Vienna").Tags = []string{"coffee"}
	if got := es.Names(); !reflect.DeepEqual(got, []string{"Berlin", "Vienna"}) {
		t.Fatalf("names %v, want sorted and one per list", got)
	}
	if e, ok := es.Get("Vienna"); !ok || e.Note != "cake" || len(e.Tags) != 1 {
		t.Fatalf("Get(Vienna) = %+v, %v", e, ok)
	}
	if es.Has("Paris") {
		t.Fatal("Has(Paris) for a list the place is not in")
	}
	b, err := json.Marshal(es)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"Berlin":{"comment":"\u003cb\u003e\u0026"},"Vienna":{"note":"cake","tags":["coffee"]}}`
	if string(b) != want {
		t.Fatalf("JSON %s, want %s (the object form a map[string]ListEntry had)", b, want)
	}
	var back Entries
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, es) {
		t.Fatalf("round trip %+v, want %+v", back, es)
	}
	if err := json.Unmarshal([]byte(`["x"]`), &back); err == nil {
		t.Fatal("an array decoded as list entries")
	}
}
