package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/clock"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store"
)

const keysUsage = `Usage:
  jifen keys create --role admin|merchant|readonly [--merchant mer_…] [--name …] [--program default] [--db …]
  jifen keys list   [--program default] [--db …]
  jifen keys revoke [--program default] [--db …] <key id>

Manages API keys on the database itself, without the API: to make an admin
key when none is at hand (lost, or JIFEN_ADMIN_KEY was ignored because the
database already had keys). create prints the new secret once, on stdout;
only its hash is stored. A running jifen serve refuses a revoked key within
its --cache-ttl (2s by default).
`

// keys is jifen keys: create, list and revoke API keys through the auth
// package, on the database named by --db or JIFEN_DB.
func keys(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, keysUsage)
		return errUsage
	}
	switch args[0] {
	case "create":
		return keysCreate(ctx, args[1:], getenv, stdout, stderr)
	case "list":
		return keysList(ctx, args[1:], getenv, stdout, stderr)
	case "revoke":
		return keysRevoke(ctx, args[1:], getenv, stdout, stderr)
	case "help", "--help", "-h":
		fmt.Fprint(stdout, keysUsage)
		return nil
	}
	fmt.Fprintf(stderr, "jifen keys: unknown command %q\n\n%s", args[0], keysUsage)
	return errUsage
}

// keysFlags are the flags every command on the database itself takes
// (jifen keys, jifen operator).
type keysFlags struct {
	fs      *flag.FlagSet
	set     *settings
	db      *string
	program *string
}

func newKeysFlags(name string, getenv func(string) string, stderr io.Writer) *keysFlags {
	return newDBFlags("keys", keysUsage, name, getenv, stderr)
}

func newDBFlags(verb, usage, name string, getenv func(string) string, stderr io.Writer) *keysFlags {
	fs := flag.NewFlagSet(verb+" "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "%s\nFlags of jifen %s %s:\n", usage, verb, name)
		fs.PrintDefaults()
	}
	set := newSettings(fs, getenv)
	return &keysFlags{fs: fs, set: set, db: dbFlag(fs, set), program: fs.String("program", program.DefaultID, "the program")}
}

// open parses args (flags may follow the arguments), opens the database
// and checks that it is a current Jifen database holding the program. It
// returns the arguments that are not flags.
func (k *keysFlags) open(ctx context.Context, args []string) (*store.DB, []string, error) {
	var rest []string
	for {
		if err := k.set.parse(args); err != nil {
			return nil, nil, err
		}
		if k.fs.NArg() == 0 {
			break
		}
		rest = append(rest, k.fs.Arg(0))
		args = k.fs.Args()[1:]
	}
	k.set.checkDB(*k.db)
	if err := k.set.err(); err != nil {
		return nil, nil, err
	}
	db, err := store.Open(ctx, *k.db, store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, nil, err
	}
	ok, err := db.MigrationsCurrent(ctx)
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("%s: %w (is it a Jifen database? run jifen migrate)", db.URL(), err)
	}
	if !ok {
		db.Close()
		return nil, nil, fmt.Errorf("%s: migrations are not current; run jifen migrate", db.URL())
	}
	if _, err := db.Read().Program(ctx, *k.program); err != nil {
		db.Close()
		if failure.Is(err, failure.NotFound) {
			return nil, nil, fmt.Errorf("%s has no program %q (jifen serve creates program %q on its first start)", db.URL(), *k.program, program.DefaultID)
		}
		return nil, nil, err
	}
	return db, rest, nil
}

// cliFlags names the flag of each field of auth.CreateInput.
var cliFlags = map[string]string{"name": "--name", "role": "--role", "merchant_id": "--merchant"}

func keysCreate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	k := newKeysFlags("create", getenv, stderr)
	role := k.fs.String("role", "", "admin, merchant or readonly (required)")
	merchant := k.fs.String("merchant", "", "the merchant (mer_…) a merchant key acts as")
	name := k.fs.String("name", "", `the key's name (default "<role> key from jifen keys")`)
	db, rest, err := k.open(ctx, args)
	if err != nil {
		return err
	}
	defer db.Close()
	if len(rest) > 0 {
		fmt.Fprintf(stderr, "jifen keys create: unexpected argument %q\n", rest[0])
		return errUsage
	}
	in := auth.CreateInput{Name: *name, Role: *role, MerchantID: *merchant}
	if in.Name == "" {
		in.Name = in.Role + " key from jifen keys"
	}
	svc := auth.NewService(db, clock.System{}, 0)
	var key auth.KeyCreated
	err = db.Write(ctx, "keys", func(ctx context.Context, tx *store.Tx) (err error) {
		key, err = svc.Create(ctx, tx, auth.System(*k.program), in)
		return err
	})
	if fe := failure.As(err); fe != nil && fe.Kind == failure.Invalid && len(fe.Fields) > 0 {
		var errs []error
		for _, f := range fe.Fields {
			errs = append(errs, fmt.Errorf("%s: %s", cmp.Or(cliFlags[f.Field], f.Field), f.Message))
		}
		return fmt.Errorf("%w: %w", errConfig, errors.Join(errs...))
	}
	if err != nil {
		return fmt.Errorf("create key: %w", err)
	}
	desc := key.Role + " key " + key.ID
	if key.MerchantID != "" {
		desc += " of merchant " + string(key.MerchantID)
	}
	fmt.Fprintf(stderr, "Created %s (%q) in program %q. Its secret is shown only this once:\n", desc, key.Name, *k.program)
	fmt.Fprintln(stdout, *key.Secret)
	return nil
}

func keysList(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	k := newKeysFlags("list", getenv, stderr)
	db, rest, err := k.open(ctx, args)
	if err != nil {
		return err
	}
	defer db.Close()
	if len(rest) > 0 {
		fmt.Fprintf(stderr, "jifen keys list: unexpected argument %q\n", rest[0])
		return errUsage
	}
	all, err := allKeys(ctx, auth.NewService(db, clock.System{}, 0), *k.program)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tROLE\tMERCHANT\tCREATED\tNAME")
	for _, key := range all {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", key.ID, key.Role, orDash(string(key.MerchantID)), key.CreatedAt.Format(time.RFC3339), key.Name)
	}
	return w.Flush()
}

func keysRevoke(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	k := newKeysFlags("revoke", getenv, stderr)
	db, rest, err := k.open(ctx, args)
	if err != nil {
		return err
	}
	defer db.Close()
	if len(rest) != 1 {
		fmt.Fprintf(stderr, "jifen keys revoke: name one key ID (got %d arguments)\n\n%s", len(rest), keysUsage)
		return errUsage
	}
	svc := auth.NewService(db, clock.System{}, 0)
	err = db.Write(ctx, "keys", func(ctx context.Context, tx *store.Tx) error {
		return svc.Delete(ctx, tx, auth.System(*k.program), rest[0])
	})
	if failure.Is(err, failure.NotFound) {
		return fmt.Errorf("program %q has no key %s", *k.program, rest[0])
	}
	if err != nil {
		return fmt.Errorf("revoke key: %w", err)
	}
	fmt.Fprintf(stdout, "Revoked %s. Running servers refuse it within their --cache-ttl (2s by default).\n", rest[0])
	left, err := allKeys(ctx, svc, *k.program)
	if err != nil {
		return err
	}
	for _, key := range left {
		if key.Role == auth.Admin {
			return nil
		}
	}
	fmt.Fprintf(stderr, "Program %q has no admin key left; make one with: jifen keys create --role admin\n", *k.program)
	return nil
}

// allKeys lists every live key of a program, newest first.
func allKeys(ctx context.Context, svc *auth.Service, programID string) ([]auth.Key, error) {
	var all []auth.Key
	page := store.Page{Limit: 500}
	for {
		ks, next, err := svc.List(ctx, auth.System(programID), page)
		if err != nil {
			return nil, fmt.Errorf("list keys: %w", err)
		}
		all = append(all, ks...)
		if next == "" {
			return all, nil
		}
		page.Cursor = next
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
