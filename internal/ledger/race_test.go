//go:build race

package ledger_test

// raceEnabled is true under the race detector, which slows the
// transpiled SQLite down many times; long property runs shorten then.
const raceEnabled = true
