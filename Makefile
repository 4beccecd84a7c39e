# Conveniences; the README's two commands need none of this.
PG ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable

.PHONY: build test test-pg race bench ci

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

ci:
	.ci/run
