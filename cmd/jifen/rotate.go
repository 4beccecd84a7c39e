package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"

	"github.com/jifen/jifen/internal/seal"
	"github.com/jifen/jifen/internal/store"
)

// rotateDataKey re-seals every value not under the first key of
// JIFEN_DATA_KEY (clear ones included), a batch per transaction, while
// nodes serve with both keys listed. With --dry-run it counts the values
// under each key and changes nothing. It exits 0 when nothing is left
// under another key; the old key can then be taken out of the list.
func rotateDataKey(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	fs := flag.NewFlagSet("rotate-data-key", flag.ContinueOnError)
	fs.SetOutput(out)
	s := newSettings(fs, getenv)
	db := dbFlag(fs, s)
	batch := fs.Int("batch", 500, "values re-sealed per transaction")
	dryRun := fs.Bool("dry-run", false, "count the values under each key and change nothing")
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: jifen rotate-data-key [--batch 500] [--dry-run] [--db …]\n\n"+
			"Re-encrypts every personal value not under the first key of %s\n"+
			"(values stored clear included) and re-hashes the lookups. Run it after every\n"+
			"node serves with the new key listed first and the old one after it.\n\nFlags:\n", seal.Env)
		fs.PrintDefaults()
	}
	if err := s.parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(out, "jifen rotate-data-key: unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	s.checkDB(*db)
	s.check(*batch > 0, "batch", "", *batch, "a positive number")
	keys := s.dataKeys()
	if err := s.err(); err != nil {
		return err
	}
	if !keys.Enabled() {
		return fmt.Errorf("%w: %s is not set: list the new key first, then the old ones", errConfig, seal.Env)
	}
	st, err := store.Open(ctx, *db, store.Options{Logger: slog.New(slog.DiscardHandler), Keys: keys})
	if err != nil {
		return err
	}
	defer st.Close()
	if ok, err := st.MigrationsCurrent(ctx); err != nil {
		return err
	} else if !ok {
		return fmt.Errorf("%s: migrations pending: run jifen migrate (or serve) first", st.URL())
	}
	if *dryRun {
		counts, err := st.CountSealed(ctx)
		if err != nil {
			return err
		}
		printCounts(out, keys, counts)
		return nil
	}
	n, err := st.RotateDataKeys(ctx, *batch, func(table, column string, n int) {
		fmt.Fprintf(out, "%s.%s: %d re-sealed\n", table, column, n)
	})
	if err != nil {
		return err
	}
	used, err := st.UsedDataKeys(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s: %d values re-sealed under %q; keys still holding values: %s\n", st.URL(), n, keys.Current(), strings.Join(used, ", "))
	if len(used) > 1 {
		return fmt.Errorf("values are left under %s: a node may still be sealing with it; restart every node with %q first and run again",
			strings.Join(slices.DeleteFunc(used, func(k string) bool { return k == keys.Current() }), ", "), keys.Current())
	}
	return nil
}

// printCounts writes how many values each key holds, per column and in
// all ("clear" for the ones not sealed).
func printCounts(out io.Writer, keys *seal.Keyring, counts []store.SealedCount) {
	total := map[string]int64{}
	for _, c := range counts {
		var parts []string
		for _, kid := range slices.Sorted(maps.Keys(c.ByKey)) {
			total[kid] += c.ByKey[kid]
			parts = append(parts, fmt.Sprintf("%s %d", keyName(kid), c.ByKey[kid]))
		}
		if len(parts) > 0 {
			fmt.Fprintf(out, "%s.%s: %s\n", c.Table, c.Column, strings.Join(parts, ", "))
		}
	}
	var parts []string
	left := int64(0)
	for _, kid := range slices.Sorted(maps.Keys(total)) {
		parts = append(parts, fmt.Sprintf("%s %d", keyName(kid), total[kid]))
		if kid != keys.Current() {
			left += total[kid]
		}
	}
	fmt.Fprintf(out, "in all: %s; %d to re-seal under %q\n", strings.Join(parts, ", "), left, keys.Current())
}

func keyName(kid string) string {
	if kid == "" {
		return "clear"
	}
	return kid
}
