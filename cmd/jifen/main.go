// Command jifen is the Jifen membership points engine: one binary with the
// HTTP API, the scheduled jobs and the operator's commands.
//
//	jifen serve      run the API and the scheduler
//	jifen migrate    apply database migrations and exit
//	jifen verify     check that the books balance
//	jifen keys       create, list and revoke API keys on the database
//	jifen bench      measure throughput and latency over HTTP
//	jifen rotate-data-key  re-encrypt personal values under the current key
//	jifen version    print the version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	_ "time/tzdata" // program time zones work on machines without tzdata
)

// version is set at build time with -ldflags "-X main.version=…".
var version = ""

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		v := bi.Main.Version
		if v == "(devel)" {
			v = "dev"
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += "+" + s.Value[:12]
			}
		}
		if v != "" {
			return v
		}
	}
	return "dev"
}

const usage = `jifen — membership points and loyalty engine

Usage:
  jifen serve   [flags]   run the API and the scheduler
  jifen migrate [flags]   apply database migrations and exit
  jifen verify  [flags]   check that the books balance (exit 1 if not)
  jifen keys    create|list|revoke [flags]
                          manage API keys on the database (a lost admin key)
  jifen operator add [flags]
                          make a console operator on the database
  jifen rotate-data-key [--batch 500] [--dry-run]
                          re-encrypt personal values under the first key of JIFEN_DATA_KEY
  jifen demo    [flags]   fill a fresh database with a year of a programme's life
  jifen bench   [flags]   load scenarios over HTTP and report throughput and latency
  jifen version           print the version

Run "jifen <command> --help" for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is main without the process: tests call it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = serve(ctx, args[1:], getenv, stderr)
	case "migrate":
		err = migrate(ctx, args[1:], getenv, stdout)
	case "verify":
		err = verify(ctx, args[1:], getenv, stdout)
	case "keys":
		err = keys(ctx, args[1:], getenv, stdout, stderr)
	case "demo":
		err = demoCmd(ctx, args[1:], getenv, stdout, stderr)
	case "operator":
		err = operatorCmd(ctx, args[1:], getenv, os.Stdin, stdout, stderr)
	case "bench":
		err = benchCmd(ctx, args[1:], getenv, stdout, stderr)
	case "rotate-data-key":
		err = rotateDataKey(ctx, args[1:], getenv, stdout)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "jifen", versionString())
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "jifen: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2 // the flag package, or the command, has said what is wrong
	case errors.Is(err, errConfig):
		for _, line := range strings.Split(strings.TrimPrefix(err.Error(), errConfig.Error()+": "), "\n") {
			fmt.Fprintln(stderr, "jifen:", line)
		}
		return 2
	case errors.Is(err, errChecksFailed):
		return 1
	}
	fmt.Fprintln(stderr, "jifen:", err)
	return 1
}

var (
	errUsage        = errors.New("usage")         // bad command line, already reported: exit 2
	errConfig       = errors.New("configuration") // a malformed setting (flag or environment): exit 2
	errChecksFailed = errors.New("checks failed")
)
