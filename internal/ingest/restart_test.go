package ingest_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/jifen/jifen/internal/ingest"
	"github.com/jifen/jifen/internal/program"
	"github.com/jifen/jifen/internal/store/storetest"
)

// natsServer is a nats-server with JetStream of the test's own, which it
// kills and starts again on the same port and store directory.
type natsServer struct {
	t    *testing.T
	bin  string
	port int
	dir  string
	cmd  *exec.Cmd
}

func startNATS(t *testing.T) *natsServer {
	t.Helper()
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		t.Skip("nats-server is not in PATH: this test starts and kills one of its own")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	s := &natsServer{t: t, bin: bin, port: port, dir: t.TempDir()}
	s.start()
	t.Cleanup(s.kill)
	return s
}

func (s *natsServer) url() string { return "nats://127.0.0.1:" + strconv.Itoa(s.port) }

func (s *natsServer) start() {
	s.t.Helper()
	s.cmd = exec.Command(s.bin, "-a", "127.0.0.1", "-p", strconv.Itoa(s.port), "-js", "-sd", s.dir)
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("start nats-server: %v", err)
	}
	var dialErr error
	eventually(s.t, 20*time.Second, "nats-server listening", func() bool {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(s.port))
		if dialErr = err; err != nil {
			return false
		}
		c.Close()
		return true
	}, func() string { return fmt.Sprint(dialErr) })
}

// kill stops the server as a crash would (SIGKILL), once.
func (s *natsServer) kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Kill()
	s.cmd.Wait()
	s.cmd = nil
}

// TestNATSServerRestart kills the NATS server while the consumer works
// through a backlog and starts it again: the consumer reconnects by
// itself, and every event is committed exactly once.
func TestNATSServerRestart(t *testing.T) {
	if os.Getenv(EnvNATS) == "" {
		t.Skip("NATS tests skipped: set JIFEN_TEST_NATS=nats://127.0.0.1:4222 (and have nats-server in PATH) to run it")
	}
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		ns := startNATS(t)
		h := newHarnessAt(t, b, ns.url(), 20)
		const n = 1000
		bodies, want := h.orders("k", n)
		h.publish(program.DefaultID, bodies...)
		c := h.start(func(cfg *ingest.Config) { cfg.AckWait = 5 * time.Second })
		eventually(t, 60*time.Second, "a first share processed", func() bool { return c.count("ok") >= n/5 }, c.String)
		if c.count("ok") >= n {
			t.Fatalf("all %d events were processed before the server was killed: the test proves nothing", n)
		}
		ns.kill()
		ns.start()
		eventually(t, 120*time.Second, "all processed after the restart", func() bool { return c.count("ok") >= n }, c.String)
		h.drained(60 * time.Second)
		if got := c.count("ok"); got != n {
			t.Errorf("events committed: %d, want %d (%s)", got, n, c)
		}
		h.wantBalances(want)
		t.Logf("after the restart: %s", c)
	})
}
