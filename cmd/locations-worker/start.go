package main

import "github.com/spf13/cobra"

// placeholder: filled in by its issue.
func newStartCmd(a *app) *cobra.Command {
	return &cobra.Command{Use: "start", Short: "not yet available", Hidden: true}
}
