package main

import "github.com/spf13/cobra"

// placeholder: filled in by its issue.
func newDocCmd(a *app) *cobra.Command {
	return &cobra.Command{Use: "doc", Short: "not yet available", Hidden: true}
}
