package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/jifen/jifen/internal/clock"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/operator"
	"github.com/jifen/jifen/internal/store"
)

const operatorUsage = `Usage:
  jifen operator add --email … --role admin|merchant|readonly [--merchant mer_…] [--name …] [--program default] [--db …]

Makes a console operator on the database itself, without the API: the first
one, or an admin when none can log in. The password is read from
JIFEN_OPERATOR_PASSWORD, or else from the first line of standard input (at
least 12 characters); only its Argon2id hash is stored.
`

// operatorCmd is jifen operator.
func operatorCmd(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, operatorUsage)
		return errUsage
	}
	switch args[0] {
	case "add":
		return operatorAdd(ctx, args[1:], getenv, stdin, stdout, stderr)
	case "help", "--help", "-h":
		fmt.Fprint(stdout, operatorUsage)
		return nil
	}
	fmt.Fprintf(stderr, "jifen operator: unknown command %q\n\n%s", args[0], operatorUsage)
	return errUsage
}

// operatorFlags names the flag of each field of operator.CreateInput.
var operatorFlags = map[string]string{"email": "--email", "name": "--name", "role": "--role", "merchant_id": "--merchant",
	"password": "JIFEN_OPERATOR_PASSWORD"}

func operatorAdd(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	k := newDBFlags("operator", operatorUsage, "add", getenv, stderr)
	email := k.fs.String("email", "", "the operator's email, its login (required)")
	role := k.fs.String("role", "", "admin, merchant or readonly (required)")
	merchant := k.fs.String("merchant", "", "the merchant (mer_…) a merchant operator acts as")
	name := k.fs.String("name", "", "the operator's name")
	db, rest, err := k.open(ctx, args)
	if err != nil {
		return err
	}
	defer db.Close()
	if len(rest) > 0 {
		fmt.Fprintf(stderr, "jifen operator add: unexpected argument %q\n", rest[0])
		return errUsage
	}
	password := getenv("JIFEN_OPERATOR_PASSWORD")
	if password == "" {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read the password from standard input: %w", err)
		}
		password = strings.TrimRight(line, "\r\n")
	}
	in := operator.CreateInput{Email: *email, Name: *name, Role: *role, MerchantID: *merchant, Password: password}
	svc := operator.NewService(db, clock.System{})
	var op operator.Operator
	err = db.Write(ctx, "operators", func(ctx context.Context, tx *store.Tx) (err error) {
		op, err = svc.Add(ctx, tx, *k.program, in)
		return err
	})
	if fe := failure.As(err); fe != nil && len(fe.Fields) > 0 {
		var errs []error
		for _, f := range fe.Fields {
			errs = append(errs, fmt.Errorf("%s: %s", cmp.Or(operatorFlags[f.Field], f.Field), f.Message))
		}
		return fmt.Errorf("%w: %w", errConfig, errors.Join(errs...))
	}
	if err != nil {
		return fmt.Errorf("add operator: %w", err)
	}
	fmt.Fprintf(stdout, "Created %s operator %s (%s) in program %q.\n", op.Role, op.ID, op.Email, *k.program)
	return nil
}
