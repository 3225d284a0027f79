package main

import (
	"fmt"
	"strings"

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
apps can read offline and in real time.

Try it with the sample archive: it writes the document to the sync server at
SYNC_URL, or to the local store under ./data when no server runs.`,
		Example: `  locations-worker import examples/sample-takeout.zip
  locations-worker doc cat /google-maps/places --table
  locations-worker auth setup && locations-worker start`,
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
	// The completion command takes its writer when it is created.
	if a.stdout != nil {
		root.SetOut(a.stdout)
	}
	if a.stderr != nil {
		root.SetErr(a.stderr)
	}
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	polishBuiltins(root)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return withHint(err, "see `"+c.CommandPath()+" --help`")
	})
	walk(root, func(c *cobra.Command) {
		if c.HasSubCommands() {
			c.Args = cobra.ArbitraryArgs
			c.RunE = runGroup
			return
		}
		if check := c.Args; check != nil {
			c.Args = func(c *cobra.Command, args []string) error {
				if err := check(c, args); err != nil {
					return withHint(err, "usage: "+c.UseLine()+" (see `"+c.CommandPath()+" --help`)")
				}
				return nil
			}
		}
	})
	return root
}

// runGroup runs a command that only groups others: alone it prints its
// help; with an argument it names the unknown command in one line.
func runGroup(c *cobra.Command, args []string) error {
	if len(args) == 0 {
		return c.Help()
	}
	hint := "`" + c.CommandPath() + " --help` lists the commands"
	if c.SuggestionsMinimumDistance <= 0 {
		c.SuggestionsMinimumDistance = 2
	}
	if s := c.SuggestionsFor(args[0]); len(s) > 0 {
		hint = "did you mean `" + c.CommandPath() + " " + strings.Join(s, "` or `"+c.CommandPath()+" ") + "`?"
	}
	return withHint(fmt.Errorf("unknown command %q for %q", args[0], c.CommandPath()), hint)
}

// polishBuiltins gives cobra's help and completion commands examples.
func polishBuiltins(root *cobra.Command) {
	examples := map[string]string{
		"help": `  locations-worker help import
  locations-worker help auth setup`,
		"completion": `  source <(locations-worker completion bash)
  locations-worker completion zsh > "${fpath[1]}/_locations-worker"`,
		"completion bash": `  source <(locations-worker completion bash)
  locations-worker completion bash > /etc/bash_completion.d/locations-worker`,
		"completion zsh":        `  locations-worker completion zsh > "${fpath[1]}/_locations-worker"`,
		"completion fish":       `  locations-worker completion fish > ~/.config/fish/completions/locations-worker.fish`,
		"completion powershell": `  locations-worker completion powershell | Out-String | Invoke-Expression`,
	}
	walk(root, func(c *cobra.Command) {
		name := strings.TrimPrefix(c.CommandPath(), root.Name()+" ")
		if ex, ok := examples[name]; ok && c.Example == "" {
			c.Example = ex
		}
		if c.Long == "" {
			c.Long = c.Short + "."
		}
	})
}

// walk calls fn for c and every command under it.
func walk(c *cobra.Command, fn func(*cobra.Command)) {
	fn(c)
	for _, sub := range c.Commands() {
		walk(sub, fn)
	}
}
