package faults_test

import (
	"flag"
	"math/rand/v2"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jifen/jifen/internal/store/storetest"
)

var crashLong = flag.Bool("crash.long", false, "run the long crash test (also JIFEN_CRASH_LONG=1; make crash-test)")

// crashSize is how hard TestCrash pushes: CI runs the small size on every
// change; `make crash-test` the long one.
type crashSize struct {
	kills            int
	workers, members int
	minLoad, maxLoad time.Duration // load between a start and its kill
}

func crashSizeFromEnv() crashSize {
	s := crashSize{kills: 10, workers: 8, members: 6, minLoad: 150 * time.Millisecond, maxLoad: 1200 * time.Millisecond}
	if *crashLong || os.Getenv("JIFEN_CRASH_LONG") == "1" {
		s = crashSize{kills: 30, workers: 16, members: 40, minLoad: time.Second, maxLoad: 8 * time.Second}
	}
	if n, err := strconv.Atoi(os.Getenv("JIFEN_CRASH_KILLS")); err == nil && n > 0 {
		s.kills = n
	}
	return s
}

// TestCrash runs load against serve, kills it with SIGKILL at random
// moments, restarts it on the same database, and then checks that every
// request answered 2xx is in the ledger, that nothing unanswered is half
// applied, that replaying every request changes nothing, and that
// `jifen verify` passes — after every kill and at the end.
//
// It would catch a lost write: a request answered 2xx whose transaction
// the crash took away is missing from the ledger (checkBooks names it),
// and its resend would apply it again with another transaction ID, which
// the replay check refuses. A write applied twice, or half, leaves a
// transaction no answer names, or a balance off the sum of the requests.
func TestCrash(t *testing.T) {
	size := crashSizeFromEnv()
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		crash(t, b.DSN(t), size)
	})
}

func crash(t *testing.T, dsn string, size crashSize) {
	began := time.Now()
	c := newClient()
	defer c.CloseIdleConnections()
	n := newNode(t, "serve", map[string]string{"JIFEN_DB": dsn, "JIFEN_JOB_TICK": "100ms"})
	n.start()
	w := setupWorkload(t, c, n.Base(), "crash", size.members, 10_000_000)

	for round := 1; round <= size.kills; round++ {
		t0 := time.Now()
		if round > 1 {
			n.start()
		}
		restart := time.Since(t0)
		var stop atomic.Bool
		sent := len(w.all())
		wait := w.drive(c, n.Base, size.workers, &stop, false)
		time.Sleep(size.minLoad + rand.N(size.maxLoad-size.minLoad))
		stop.Store(true)
		n.kill9()
		wait()
		ops := w.all()[sent:]
		var ok, lost int
		for _, o := range ops {
			for _, a := range o.Attempts {
				switch {
				case a.Err != nil:
					lost++
				case a.ok():
					ok++
				default:
					// Nothing in this workload may be refused: the members
					// have the points, every key is new.
					t.Errorf("round %d: %s %s (key %s) answered %s", round, o.Kind, o.Member, o.Key, a)
				}
			}
		}
		// The database as the crash left it, before a restart could
		// repair anything: the books must balance.
		t1 := time.Now()
		verifyCLI(t, dsn)
		t.Logf("kill %d: %d requests, %d answered 2xx, %d unanswered (ready in %s, verified in %s)",
			round, len(ops), ok, lost, restart.Round(time.Millisecond), time.Since(t1).Round(time.Millisecond))
	}
	if t.Failed() {
		t.FailNow()
	}

	n.start()
	ops := w.all()
	var ok, lost int
	for _, o := range ops {
		if o.final() != nil {
			ok++
		} else {
			lost++
		}
	}
	if lost == 0 {
		t.Fatalf("%d kills under load left no request unanswered: the kills did not hit the load", size.kills)
	}
	st := w.settle(t, c, n.Base())
	w.checkBooks(t, c, n.Base())
	replayed := w.replayAll(t, c, n.Base())
	n.stop()
	verifyCLI(t, dsn)
	t.Logf("%d kills, %d requests: %d answered 2xx, %d unanswered (%d had committed before the kill, %d had not); "+
		"all %d replayed with no change to the books; %s",
		size.kills, len(ops), ok, lost, st.committed, st.applied, replayed, time.Since(began).Round(time.Millisecond))
}
