// Package faults holds Jifen's fault tests and nothing else. They build
// the jifen binary once, run real `jifen serve` processes on real
// databases and break things under load:
//
//   - TestCrash kills serve with SIGKILL at random moments under load, on
//     SQLite and on PostgreSQL, restarts it on the same database, and then
//     checks that every answered write is in the ledger, that no
//     unanswered one is half applied, that replaying every request with
//     its Idempotency-Key changes nothing, and that `jifen verify` passes.
//   - TestSeveralNodes runs three serve processes on one PostgreSQL:
//     concurrent spends on the same members, a flash sale and the
//     scheduler on all three — no overspend, no oversell, each scheduled
//     run once.
//   - TestDatabaseAway stops a PostgreSQL cluster of its own under load:
//     requests fail fast with 503 unavailable, /readyz says not ready,
//     and the same process serves again when the database is back.
//
// The SQLite crash test always runs; the PostgreSQL parts skip unless
// JIFEN_TEST_POSTGRES holds a DSN. TestDatabaseAway also needs root and
// pg_createcluster; with JIFEN_TEST_FAULTS_REQUIRED=1 (CI) a missing
// prerequisite fails instead of skipping. JIFEN_CRASH_LONG=1 (or
// -crash.long) runs the long crash test: `make crash-test`.
package faults
