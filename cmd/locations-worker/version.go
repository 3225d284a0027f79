package main

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// buildInfo describes this binary: module version, commit and build date.
type buildInfo struct {
	Version string `json:"version"`
	Commit  string `json:"commit,omitempty"`
	Date    string `json:"date,omitempty"`
	Dirty   bool   `json:"dirty,omitempty"`
	Go      string `json:"go"`
}

func readBuildInfo() buildInfo {
	bi := buildInfo{Version: "(devel)"}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return bi
	}
	bi.Go = info.GoVersion
	if v := info.Main.Version; v != "" {
		bi.Version = v
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			bi.Commit = s.Value
		case "vcs.time":
			bi.Date = s.Value
		case "vcs.modified":
			bi.Dirty = s.Value == "true"
		}
	}
	return bi
}

func newVersionCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print the version, commit and build date",
		Long:    "Print the module version, the VCS commit and the build date recorded in this binary.",
		Example: "  locations-worker version",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			bi := readBuildInfo()
			fmt.Fprintf(a.stdout, "locations-worker %s", bi.Version)
			if bi.Commit != "" {
				c := bi.Commit
				if len(c) > 12 {
					c = c[:12]
				}
				fmt.Fprintf(a.stdout, " (commit %s", c)
				if bi.Dirty {
					fmt.Fprint(a.stdout, "+dirty")
				}
				if bi.Date != "" {
					fmt.Fprintf(a.stdout, ", built %s", bi.Date)
				}
				fmt.Fprint(a.stdout, ")")
			}
			fmt.Fprintf(a.stdout, " %s\n", bi.Go)
			return nil
		},
	}
}
