package main

import (
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// newRootCmd builds cachet's whole command tree. Every command is made by
// its own function, so a test gets a fresh tree with fresh flags.
func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "cachet",
		Short: "Browser-cache coherence across organizations, with a Fabric ledger as the record",
		Long: `cachet publishes and invalidates cache entries on the ledger, follows what
changed (from the ledger, Kafka or a push server), and runs Cachet's daemons:
the relay (ledger → Kafka), the push server (Kafka → browsers), analytics and
a development stack.

Exit status: 0 done, 1 other failure, 2 usage (bad flag, argument, key or
connection settings: nothing was sent), 3 refused by the contract or a
policy, 4 conflict or stale version (re-read and retry), 5 no peer answered.`,
		Version:       versionString(),
		SilenceErrors: true, // execute reports errors, as text or JSON
		SilenceUsage:  true,
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return asUsage(err) })
	root.AddGroup(&cobra.Group{ID: "ledger", Title: "Ledger commands:"}, &cobra.Group{ID: "daemons", Title: "Daemons:"})
	root.SetHelpCommandGroupID("")
	for _, c := range []*cobra.Command{newPublishCmd(), newInvalidateCmd(), newInvalidateTagCmd(), newPurgeCmd(), newClaimHostCmd(), newReleaseHostCmd(),
		newGetCmd(), newAuditHistoryCmd(), newReceiptCmd(), newListCmd(), newWatchCmd()} {
		c.GroupID = "ledger"
		root.AddCommand(c)
	}
	for _, c := range []*cobra.Command{newRelayCmd(), newAPICmd(), newPushCmd(), newAnalyticsCmd(), newDevCmd()} {
		c.GroupID = "daemons"
		root.AddCommand(c)
	}
	root.AddCommand(newProduceCmd(), newVersionCmd(), newVerifyCmd(), newCoverageCmd(), newDocsCmd())
	return root
}

// exactArgs accepts exactly n arguments, described as what (KEY, TAG) in
// the usage error otherwise.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("%s takes %d %s, got %d arguments", cmd.CommandPath(), n, what, len(args))
		}
		return nil
	}
}

// minArgs accepts n arguments or more.
func minArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < n {
			return usagef("%s takes at least %d %s", cmd.CommandPath(), n, what)
		}
		return nil
	}
}

// flagChanged reports whether the command line set flag name.
func flagChanged(fs *pflag.FlagSet, name string) bool {
	f := fs.Lookup(name)
	return f != nil && f.Changed
}
