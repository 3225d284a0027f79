// Package export turns Google's exports of saved places (the Data Portability
// API, or Takeout / Data Portability archives on disk) into one clean,
// deduplicated, deterministic Snapshot of places. It knows nothing of
// keepsync: writers consume the Snapshot.
package export

import "time"

// Snapshot is the result of one export run: every real place once, the
// lists they belong to, and what was skipped and why.
type Snapshot struct {
	// Places sorted by Key.
	Places []Place `json:"places"`
	// Lists sorted by Name.
	Lists []List `json:"lists"`
	// Complete is false when some input could not be read; a writer must then
	// never mark anything removed.
	Complete bool `json:"complete"`
	// Problems explains, file by file, why Complete is false (and warnings).
	Problems []Problem `json:"problems,omitempty"`
	Counts   Counts    `json:"counts"`
	// Source says where the data came from: "api" or "archive".
	Source string `json:"source"`
	// Job is the Data Portability job of an "api" snapshot (nil otherwise).
	Job *Job `json:"job,omitempty"`
}

// Place is one real place, merged from every list row and starred entry
// that points at it.
type Place struct {
	// Key is stable across runs and machines: "cid:<decimal>", else
	// "place:<place id>", else "url:<hash of the normalised URL>".
	Key         string   `json:"key"`
	Title       string   `json:"title"`
	Address     string   `json:"address,omitempty"`
	CountryCode string   `json:"countryCode,omitempty"`
	Lat         *float64 `json:"lat,omitempty"` // nil when unknown
	Lng         *float64 `json:"lng,omitempty"`
	MapsURL     string   `json:"mapsUrl"`
	CID         string   `json:"cid,omitempty"`       // decimal
	FeatureID   string   `json:"featureId,omitempty"` // 0x...:0x...
	PlaceID     string   `json:"placeId,omitempty"`   // ChIJ...
	Starred     bool     `json:"starred"`
	// Lists holds this place's entry in each saved list it is in.
	Lists     Entries    `json:"lists,omitempty"`
	SavedAt   *time.Time `json:"savedAt,omitempty"`
	UpdatedAt *time.Time `json:"updatedAt,omitempty"`
}

// ListEntry is what a saved list says about a place.
type ListEntry struct {
	// List is the name of the list; in JSON it is the entry's key.
	List    string   `json:"-"`
	Note    string   `json:"note,omitempty"`
	Comment string   `json:"comment,omitempty"`
	Tags    []string `json:"tags,omitempty"`
}

// List is one saved list.
type List struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Count       int    `json:"count"` // places of this list kept in the snapshot
}

// Problem is a file that could not be read (fully), or a warning.
type Problem struct {
	File    string `json:"file"`
	Message string `json:"message"`
	// Fatal problems make the snapshot incomplete.
	Fatal bool `json:"fatal"`
}

// Counts summarises a run.
type Counts struct {
	Places          int `json:"places"`
	Lists           int `json:"lists"`
	Starred         int `json:"starred"`
	WithCoordinates int `json:"withCoordinates"`
	// Rows and features read, before deduplication.
	ItemsRead int `json:"itemsRead"`
	// Skipped by reason: "not_a_place", "no_url", "duplicate_merged", "unreadable_file"...
	Skipped map[string]int `json:"skipped,omitempty"`
}
