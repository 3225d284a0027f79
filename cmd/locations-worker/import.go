package main

import "github.com/spf13/cobra"

// placeholder: filled in by its issue.
func newImportCmd(a *app) *cobra.Command {
	return &cobra.Command{Use: "import", Short: "not yet available", Hidden: true}
}
