package bench

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Server is a jifen serve child process.
type Server struct {
	URL  string
	cmd  *exec.Cmd
	logs *os.File
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// StartServer runs `exe serve` on dsn with the admin key and waits until it
// is ready. Its log goes to a temporary file, shown if it fails to start.
func StartServer(ctx context.Context, exe, dsn, key string, env ...string) (*Server, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	logs, err := os.CreateTemp("", "jifen-bench-serve-*.log")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, "serve", "--db", dsn, "--addr", addr)
	cmd.Env = append(os.Environ(), "JIFEN_ADMIN_KEY="+key, "JIFEN_LOG_LEVEL=warn", "JIFEN_LOG_FORMAT=text", "JIFEN_SCHEDULER=false")
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		logs.Close()
		return nil, fmt.Errorf("start %s serve: %w", exe, err)
	}
	s := &Server{URL: "http://" + addr, cmd: cmd, logs: logs}
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := http.Get(s.URL + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return s, nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			s.Stop()
			b, _ := os.ReadFile(logs.Name())
			return nil, fmt.Errorf("jifen serve did not become ready: %v\n%s", err, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// PID is the server's process ID.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// RSS is the server's resident memory in bytes (Linux), or 0.
func (s *Server) RSS() int64 {
	if s == nil {
		return 0
	}
	return rssOf(s.PID())
}

func rssOf(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// Stop asks the server to shut down and waits for it.
func (s *Server) Stop() {
	if s == nil || s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
	s.logs.Close()
	os.Remove(s.logs.Name())
}

// peakRSS samples a server's memory every 200 ms until stop is closed and
// returns the largest figure.
func peakRSS(s *Server, stop <-chan struct{}) <-chan int64 {
	out := make(chan int64, 1)
	go func() {
		var peak int64
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			peak = max(peak, s.RSS())
			select {
			case <-stop:
				out <- max(peak, s.RSS())
				return
			case <-t.C:
			}
		}
	}()
	return out
}

// writerStats reads the group-commit counters from the server's metrics.
func writerStats(url string) (batches, ops, stmts float64) {
	res, err := http.Get(url + "/metrics")
	if err != nil {
		return 0, 0, 0
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "jifen_writer_batches_total "); ok {
			batches, _ = strconv.ParseFloat(v, 64)
		}
		if v, ok := strings.CutPrefix(line, "jifen_writer_operations_total "); ok {
			ops, _ = strconv.ParseFloat(v, 64)
		}
		if v, ok := strings.CutPrefix(line, "jifen_writer_statements_total "); ok {
			stmts, _ = strconv.ParseFloat(v, 64)
		}
	}
	return batches, ops, stmts
}
