package export

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseSavedListCSV(t *testing.T) {
	tests := []struct {
		name, in  string
		wantDesc  string
		wantRows  []ListRow
		wantError bool
	}{
		{
			name:     "plain",
			in:       "Title,Note,URL,Comment\nWrigley Field,Nice to tour,https://www.google.com/maps/place/W/data=!4m2!3m1!1s0x1:0x2,\n",
			wantRows: []ListRow{{Title: "Wrigley Field", Note: "Nice to tour", URL: "https://www.google.com/maps/place/W/data=!4m2!3m1!1s0x1:0x2", Line: 2}},
		},
		{
			name:     "description, BOM, quoted fields, tags, columns reordered",
			in:       "\uFEFFPlaces to eat, in Paris\n\nURL,Title,Tags,Comment,Note\n\"https://maps.google.com/?cid=1\",\"Café \"\"Le Zinc\"\", Paris\",\"food, cheap\",,\"line one\nline two\"\n",
			wantDesc: "Places to eat, in Paris",
			wantRows: []ListRow{{Title: "Café \"Le Zinc\", Paris", Note: "line one\nline two", URL: "https://maps.google.com/?cid=1", Tags: []string{"food", "cheap"}, Line: 4}},
		},
		{
			name:     "missing columns in a row",
			in:       "Title,Note,URL,Comment\nOnly a title\n",
			wantRows: []ListRow{{Title: "Only a title", Line: 2}},
		},
		{name: "empty", in: "", wantError: true},
		{name: "not a saved list", in: "a,b,c\n1,2,3\n4,5,6\n", wantError: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSavedListCSV(strings.NewReader(tt.in), "L", 0)
			if tt.wantError {
				if err == nil {
					t.Fatalf("want an error, got %+v", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Description != tt.wantDesc {
				t.Errorf("description %q, want %q", got.Description, tt.wantDesc)
			}
			if !reflect.DeepEqual(got.Rows, tt.wantRows) {
				t.Errorf("rows\n got  %+v\n want %+v", got.Rows, tt.wantRows)
			}
		})
	}
}

func TestParseSavedListCSVBadInput(t *testing.T) {
	t.Run("invalid UTF-8 is replaced and reported", func(t *testing.T) {
		got, err := ParseSavedListCSV(strings.NewReader("Title,URL\nCaf\xe9,https://maps.google.com/?cid=1\n"), "L", 0)
		if err != nil {
			t.Fatal(err)
		}
		if got.Rows[0].Title != "Caf\uFFFD" || len(got.Warnings) != 1 {
			t.Errorf("got %+v", got)
		}
	})
	t.Run("a huge field loses its row only, and says so", func(t *testing.T) {
		in := "Title,URL\nA,https://maps.google.com/?cid=1\n" + strings.Repeat("x", 2000) + ",u\nB,https://maps.google.com/?cid=2\n"
		got, err := ParseSavedListCSV(strings.NewReader(in), "L", 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Rows) != 2 || len(got.RowErrors) != 1 || !strings.Contains(got.RowErrors[0], "line 3") {
			t.Errorf("got rows %+v errors %q", got.Rows, got.RowErrors)
		}
	})
}
