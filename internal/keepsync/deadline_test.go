package keepsync

import (
	"testing"
	"time"
)

type deadlineRecorder struct{ last time.Time }

func (d *deadlineRecorder) SetReadDeadline(t time.Time) error { d.last = t; return nil }

// A large frame sent gives the server time to apply it: a ping or a small
// message afterwards must not pull the deadline back to ReadTimeout, or the
// client drops a busy server and starts the same sync over, forever.
func TestReadDeadlineAllowsServerToApplyWhatWasSent(t *testing.T) {
	rec := &deadlineRecorder{}
	rd := &readDeadline{ws: rec, timeout: 20 * time.Second}

	before := time.Now()
	rd.alive()
	if got := rec.last.Sub(before); got < 20*time.Second || got > 21*time.Second {
		t.Fatalf("deadline after a ping = now+%v, want now+20s", got)
	}

	rd.sent(3 << 20) // 3 MiB: 30 s of grace on top of ReadTimeout
	want := before.Add(50 * time.Second)
	if rec.last.Before(want) {
		t.Fatalf("deadline after sending 3 MiB = now+%v, want at least now+50s", rec.last.Sub(before))
	}
	afterSend := rec.last

	rd.alive()
	if rec.last.Before(afterSend) {
		t.Fatalf("a ping pulled the deadline back from now+%v to now+%v", afterSend.Sub(before), rec.last.Sub(before))
	}
	rd.sent(10) // a small frame never shortens it either
	if rec.last.Before(afterSend) {
		t.Fatalf("a small frame pulled the deadline back to now+%v", rec.last.Sub(before))
	}

	rd.sent(1 << 40) // the grace is capped
	if got := time.Until(rec.last); got > 20*time.Second+maxApplyGrace+time.Second {
		t.Fatalf("grace for a huge frame = %v, want at most ReadTimeout + %v", got, maxApplyGrace)
	}

	var none *readDeadline
	none.sent(1) // no connection: nothing to do, no panic
}
