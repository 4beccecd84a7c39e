package campaign

import "context"

// signal is a member who joined or whose tier changed: the campaigns on
// that trigger fire for it right after the commit. The queue is bounded;
// what it drops (and what a crash loses) the next run of the job catches.
type signal struct {
	programID, on, memberID string
}

const maxQueue = 10000

// Joined fires the joined campaigns for a member; call it after the
// member's transaction commits (tx.After).
func (s *Service) Joined(programID, memberID string) {
	s.enqueue(signal{programID, OnJoined, memberID})
}

// TierChanged fires the tier_changed campaigns for a member; call it after
// the change commits.
func (s *Service) TierChanged(programID, memberID string) {
	s.enqueue(signal{programID, OnTierChanged, memberID})
}

func (s *Service) enqueue(sg signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queue) >= maxQueue {
		return
	}
	s.queue = append(s.queue, sg)
	if !s.running {
		s.running = true
		s.idle.Add(1)
		go s.drain()
	}
}

// drain fires the queued signals one by one, then stops.
func (s *Service) drain() {
	defer s.idle.Done()
	for {
		s.mu.Lock()
		if len(s.queue) == 0 {
			s.running = false
			s.mu.Unlock()
			return
		}
		sg := s.queue[0]
		s.queue = s.queue[1:]
		s.mu.Unlock()
		ctx := context.Background()
		p, err := s.programs.Get(ctx, sg.programID)
		if err == nil {
			_, _ = s.run(ctx, p, s.clock.Now(), sg.on, sg.memberID)
		}
	}
}

// Wait waits until the queued signals have fired (tests, shutdown).
func (s *Service) Wait() { s.idle.Wait() }
