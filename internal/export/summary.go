package export

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// WriteSummary writes a short human summary of s: places, lists, starred,
// with coordinates, skipped by reason, and every problem.
func WriteSummary(w io.Writer, s *Snapshot) error {
	c := s.Counts
	var b strings.Builder
	fmt.Fprintf(&b, "%d places from %d lists and starred places (%s)\n", c.Places, c.Lists, s.Source)
	fmt.Fprintf(&b, "  lists             %d\n", c.Lists)
	fmt.Fprintf(&b, "  starred           %d\n", c.Starred)
	fmt.Fprintf(&b, "  with coordinates  %d\n", c.WithCoordinates)
	fmt.Fprintf(&b, "  items read        %d\n", c.ItemsRead)
	if len(c.Skipped) > 0 {
		reasons := make([]string, 0, len(c.Skipped))
		for r := range c.Skipped {
			reasons = append(reasons, r)
		}
		slices.Sort(reasons)
		for _, r := range reasons {
			fmt.Fprintf(&b, "  skipped %-17s %d\n", strings.ReplaceAll(r, "_", " "), c.Skipped[r])
		}
	}
	if s.Complete {
		b.WriteString("complete: yes\n")
	} else {
		b.WriteString("complete: NO, some input could not be read (see problems)\n")
	}
	for _, p := range s.Problems {
		kind := "warning"
		if p.Fatal {
			kind = "error"
		}
		fmt.Fprintf(&b, "  %s: %s: %s\n", kind, p.File, p.Message)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
