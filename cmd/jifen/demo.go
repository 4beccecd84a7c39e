package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/jifen/jifen/internal/demo"
	"github.com/jifen/jifen/internal/store"
)

// demoCmd is jifen demo: a fresh database filled with a year of a
// programme's life (internal/demo), then how to look at it.
func demoCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: jifen demo [flags]\n\nFills a fresh database with a year of a tea-drink chain's loyalty programme:\n"+
			"members, orders, refunds, check-ins, redemptions, draws, through the same operations as the API.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	s := newSettings(fs, getenv)
	db := dbFlag(fs, s)
	var o demo.Options
	fs.IntVar(&o.Members, "members", 1500, "members over the year")
	fs.IntVar(&o.Days, "days", 365, "days replayed, ending today")
	seed := fs.Uint64("seed", 2026, "the replay's seed: the same seed, the same programme")
	orders := fs.String("orders", "", "replay these orders instead (JSON lines, gzip or not, in the format of the UCI Online Retail data set)")
	if err := s.parse(args); err != nil {
		return err
	}
	o.Seed = *seed
	s.check(o.Members >= 10 && o.Members <= 1_000_000, "members", "", o.Members, "10 to 1000000")
	s.check(o.Days >= 7 && o.Days <= 366, "days", "", o.Days, "7 to 366")
	s.checkDB(*db)
	if err := s.err(); err != nil {
		return err
	}
	if *orders != "" {
		f, err := os.Open(*orders)
		if err != nil {
			return fmt.Errorf("%w: --orders: %w", errConfig, err)
		}
		defer f.Close()
		o.Orders = f
	}
	st, err := store.Open(ctx, *db, store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		return err
	}
	res, err := demo.Run(ctx, st, o, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\n茶语 Tea Club in %s (%.1fs): %d members, %d orders, %d refunds, %d check-ins, %d redemptions, %d draws, %d coupons claimed (%d refused, as a real programme would); an alliance café and cinema with %d monthly statements closed and this month's draft.\n\n",
		st.URL(), res.Took.Seconds(), res.Members, res.Orders, res.Refunds, res.Checkins, res.Redemptions, res.Draws, res.Claims, res.Refused, res.Statements)
	fmt.Fprintf(stdout, "Serve it:        jifen serve --db %s\n", *db)
	fmt.Fprintf(stdout, "Console login:   %s / %s (a demo password: change it for anything real)\n", res.OperatorEmail, res.OperatorPassword)
	fmt.Fprintf(stdout, "Admin API key:   %s (shown once)\n", res.APIKey)
	fmt.Fprintf(stdout, "Try:             curl -s localhost:8080/v1/reports/summary -H \"Authorization: Bearer %s\"\n", res.APIKey)
	return nil
}
