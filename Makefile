# Conveniences; the README's two commands need none of this.
PG ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable

.PHONY: build test test-pg race bench crash-test ci web

build:
	go build -o jifen ./cmd/jifen

test:
	go test ./...

test-pg:
	JIFEN_TEST_POSTGRES='$(PG)' go test -count=1 ./...

race:
	JIFEN_TEST_POSTGRES='$(PG)' go test -race -count=1 ./...

bench:
	JIFEN_TEST_POSTGRES='$(PG)' go test -run '^$$' -bench . -benchtime 3s ./internal/...

# The long crash test: SIGKILL under load 30 times on SQLite and on
# PostgreSQL (JIFEN_CRASH_KILLS=n to change). CI runs a small one.
crash-test:
	JIFEN_CRASH_LONG=1 JIFEN_TEST_POSTGRES='$(PG)' go test -count=1 -timeout 60m -v -run '^TestCrash$$' ./internal/faults/

ci:
	.ci/run

# Rebuild the embedded web pages (/docs, /console/, /m/) with Node; commit
# the result. CI fails when the committed builds are stale.
web:
	scripts/build-web.sh
