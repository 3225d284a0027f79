// Package soak holds the soak test with faults: a real sync server and
// locations-worker `start --archive`, exports triggered through POST /export
// from an archive that changes every cycle, while the sync server and the
// worker are killed at random points, the network between them drops (a
// proxy cuts the connection while the server goes on running), and the next
// archive is sometimes corrupt. At the end a JavaScript automerge-repo client reads the document
// and it must equal the model built from the last complete archive.
//
// `go test ./bench/soak` runs the short form (SOAK_CYCLES, default 12);
// `make soak` runs the long form (200 cycles).
package soak
