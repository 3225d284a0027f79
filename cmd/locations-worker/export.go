package main

import "github.com/spf13/cobra"

// placeholder: filled in by its issue.
func newExportCmd(a *app) *cobra.Command {
	return &cobra.Command{Use: "export", Short: "not yet available", Hidden: true}
}
