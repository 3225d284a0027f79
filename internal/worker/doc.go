// Package worker keeps the places document in keepsync up to date.
//
// It has three parts: the writer (Apply, Write), which turns an
// export.Snapshot into edits of an Automerge document that change only what
// changed; the Runner, which runs one export at a time and remembers the
// running and the last run; and the Scheduler, which triggers the Runner on a
// cron schedule. It does not fetch anything from Google (internal/export
// does) and does not speak the sync protocol (internal/keepsync does).
package worker
