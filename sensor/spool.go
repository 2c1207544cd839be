package sensor

import "sync"

// SpoolConfig bounds the queue of batches waiting for the broker.
type SpoolConfig struct {
	MemBytes  int64  // payload bytes kept in memory; default 16 MiB
	Dir       string // where batches spill when memory is full; "" keeps them in memory only
	DiskBytes int64  // bytes kept on disk; default 512 MiB
}

// Spool is a bounded FIFO queue of encoded batches: in memory, spilling
// to segment files in a directory when memory is full. Every record on disk
// is newer than every record in memory (a record goes to memory only while
// the disk part is empty), so records leave in the order they came. What
// fits nowhere is refused and counted. Records on disk survive a restart
// and are sent first then; those in memory are written to disk by Close.
// It is safe for concurrent use.
type Spool struct {
	cfg SpoolConfig

	mu       sync.Mutex
	mem      []spoolRec
	memHead  int
	memBytes int64
	disk     *diskQueue // nil without Dir
	ready    chan struct{}
	dropped  SpoolDrops
	closed   bool
}

// SpoolDrops counts what a full spool refused.
type SpoolDrops struct {
	Batches, Obs int64
}

type spoolRec struct {
	data []byte
	obs  int
}

// OpenSpool opens a spool, taking up the records a previous process left
// in cfg.Dir.
func OpenSpool(cfg SpoolConfig) (*Spool, error) {
	if cfg.MemBytes <= 0 {
		cfg.MemBytes = 16 << 20
	}
	if cfg.DiskBytes <= 0 {
		cfg.DiskBytes = 512 << 20
	}
	s := &Spool{cfg: cfg, ready: make(chan struct{}, 1)}
	if cfg.Dir != "" {
		d, err := openDiskQueue(cfg.Dir)
		if err != nil {
			return nil, err
		}
		s.disk = d
		if d.records > 0 {
			s.signal()
		}
	}
	return s, nil
}

func (s *Spool) signal() {
	select {
	case s.ready <- struct{}{}:
	default:
	}
}

// Ready is signalled when a record is pushed.
func (s *Spool) Ready() <-chan struct{} { return s.ready }

// Push queues a record holding obs observations. It returns false when the
// record fits neither in memory nor on disk (it is counted as dropped).
func (s *Spool) Push(data []byte, obs int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		s.dropped.Batches++
		s.dropped.Obs += int64(obs)
		return false
	}
	diskEmpty := s.disk == nil || s.disk.records == 0
	if diskEmpty && s.memBytes+int64(len(data)) <= s.cfg.MemBytes {
		s.mem = append(s.mem, spoolRec{data, obs})
		s.memBytes += int64(len(data))
		s.signal()
		return true
	}
	if s.disk != nil && s.disk.bytes+int64(len(data)) <= s.cfg.DiskBytes {
		if err := s.disk.push(data, obs); err == nil {
			s.signal()
			return true
		}
	}
	s.dropped.Batches++
	s.dropped.Obs += int64(obs)
	return false
}

// Peek returns the oldest record without removing it; ok is false when the
// spool is empty. data stays valid until Pop.
func (s *Spool) Peek() (data []byte, obs int, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.memHead < len(s.mem) {
		r := s.mem[s.memHead]
		return r.data, r.obs, true
	}
	if s.disk != nil && s.disk.records > 0 {
		data, obs, err := s.disk.peek()
		if err == nil {
			return data, obs, true
		}
	}
	return nil, 0, false
}

// Pop removes the oldest record (the one Peek returned).
func (s *Spool) Pop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.memHead < len(s.mem) {
		s.memBytes -= int64(len(s.mem[s.memHead].data))
		s.mem[s.memHead] = spoolRec{}
		s.memHead++
		if s.memHead == len(s.mem) {
			s.mem, s.memHead = s.mem[:0], 0
		} else if s.memHead > 1024 && s.memHead*2 > len(s.mem) {
			s.mem = append(s.mem[:0], s.mem[s.memHead:]...)
			s.memHead = 0
		}
		return
	}
	if s.disk != nil {
		s.disk.pop()
	}
}

// SpoolLen is what a spool holds.
type SpoolLen struct {
	Batches, Obs int64 // records and observations queued
	MemBytes     int64
	DiskBytes    int64
}

// Len returns what the spool holds.
func (s *Spool) Len() SpoolLen {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := SpoolLen{Batches: int64(len(s.mem) - s.memHead), MemBytes: s.memBytes}
	for _, r := range s.mem[s.memHead:] {
		l.Obs += int64(r.obs)
	}
	if s.disk != nil {
		l.Batches += s.disk.records
		l.Obs += s.disk.obs
		l.DiskBytes = s.disk.bytes
	}
	return l
}

// Dropped returns what the spool refused so far.
func (s *Spool) Dropped() SpoolDrops {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dropped
}

// Lost returns what the spool lost to records that went bad on disk (bit
// rot): a bad record and those behind it in its segment, which the reader
// cannot find the start of.
func (s *Spool) Lost() SpoolDrops {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.disk == nil {
		return SpoolDrops{}
	}
	return s.disk.lost
}

// Close writes the records still in memory to disk (when there is a
// directory), ahead of those already there, and closes the files.
func (s *Spool) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.disk == nil {
		return nil
	}
	var err error
	if rest := s.mem[s.memHead:]; len(rest) > 0 {
		err = s.disk.prepend(rest)
	}
	s.mem, s.memHead, s.memBytes = nil, 0, 0
	if cerr := s.disk.close(); err == nil {
		err = cerr
	}
	return err
}
