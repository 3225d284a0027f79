package main

import (
	"github.com/spf13/cobra"

	"github.com/tonk-labs/locations-worker/internal/config"
)

func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "locations-worker",
		Short: "Keep your saved Google Maps places in Tonk's keepsync",
		Long: `locations-worker exports your saved Google Maps places (saved lists and
starred places) every day, from the Google Data Portability API or from a
Takeout archive, and keeps them up to date in a keepsync document that Tonk
apps can read offline and in real time.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	config.BindFlags(root.PersistentFlags(), "data-dir", "sync-url", "sync-ws-url", "doc-path", "log-level", "log-format")
	root.AddCommand(
		newVersionCmd(a),
		newDocCmd(a),
		newImportCmd(a),
		newExportCmd(a),
		newAuthCmd(a),
		newSetupCmd(a),
		newStartCmd(a),
		newHealthcheckCmd(a),
	)
	return root
}
