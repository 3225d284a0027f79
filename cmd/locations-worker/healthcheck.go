package main

import "github.com/spf13/cobra"

// placeholder: filled in by its issue.
func newHealthcheckCmd(a *app) *cobra.Command {
	return &cobra.Command{Use: "healthcheck", Short: "not yet available", Hidden: true}
}
