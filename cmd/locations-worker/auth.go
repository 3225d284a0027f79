package main

import "github.com/spf13/cobra"

// placeholder: filled in by its issue.
func newAuthCmd(a *app) *cobra.Command {
	return &cobra.Command{Use: "auth", Short: "not yet available", Hidden: true}
}

func newSetupCmd(a *app) *cobra.Command {
	return &cobra.Command{Use: "setup", Short: "not yet available", Hidden: true}
}
