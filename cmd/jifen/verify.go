package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/jifen/jifen/internal/ledger"
	"github.com/jifen/jifen/internal/store"
)

func openFromFlags(ctx context.Context, name string, args []string, getenv func(string) string, out io.Writer) (*store.DB, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	s := newSettings(fs, getenv)
	db := dbFlag(fs, s)
	if err := s.parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(out, "jifen %s: unexpected argument %q\n", name, fs.Arg(0))
		return nil, errUsage
	}
	s.checkDB(*db)
	if err := s.err(); err != nil {
		return nil, err
	}
	return store.Open(ctx, *db, store.Options{Logger: slog.New(slog.DiscardHandler)})
}

func migrate(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	db, err := openFromFlags(ctx, "migrate", args, getenv, out)
	if err != nil {
		return err
	}
	defer db.Close()
	applied, err := db.Migrate(ctx)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintf(out, "%s: migrations current\n", db.URL())
		return nil
	}
	fmt.Fprintf(out, "%s: applied %v\n", db.URL(), applied)
	return nil
}

// verify runs the ledger invariant checks for every program and prints
// each; it fails when any check does.
func verify(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	db, err := openFromFlags(ctx, "verify", args, getenv, out)
	if err != nil {
		return err
	}
	defer db.Close()
	ok, err := db.MigrationsCurrent(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w (is it a Jifen database? run jifen migrate)", db.URL(), err)
	}
	if !ok {
		return fmt.Errorf("%s: migrations are not current; run jifen migrate", db.URL())
	}
	programs, err := db.Read().ProgramIDs(ctx)
	if err != nil {
		return err
	}
	failed := 0
	for _, pid := range programs {
		rep, err := ledger.Verify(ctx, db.Read(), pid)
		if err != nil {
			return err
		}
		for _, c := range rep.Checks {
			mark := "ok  "
			if !c.OK {
				mark = "FAIL"
				failed++
			}
			fmt.Fprintf(out, "%s %s %-24s %s\n", mark, pid, c.Name, c.Detail)
		}
	}
	if failed > 0 {
		fmt.Fprintf(out, "%d checks failed\n", failed)
		return errChecksFailed
	}
	fmt.Fprintf(out, "all checks passed (%d programs)\n", len(programs))
	return nil
}
