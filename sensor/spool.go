package sensor

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

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

// diskQueue is a FIFO of records in segment files seg-<n>.spool, oldest n
// first. A record is: length (4 bytes), observation count (4), CRC-32 of
// the data (4), data; little endian.
type diskQueue struct {
	dir     string
	segs    []int64 // segment numbers, oldest first
	w       *os.File
	wSize   int64
	r       *os.File
	rSeg    int64
	rOff    int64
	head    []byte // the record at rOff, once read
	headObs int
	headLen int64
	records int64
	obs     int64
	bytes   int64
}

const (
	segmentBytes = 4 << 20
	recHeader    = 12
	maxRecord    = 64 << 20
)

func segName(dir string, n int64) string {
	return filepath.Join(dir, fmt.Sprintf("seg-%020d.spool", n))
}

func openDiskQueue(dir string) (*diskQueue, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("sensor: spool: %w", err)
	}
	names, err := filepath.Glob(filepath.Join(dir, "seg-*.spool"))
	if err != nil {
		return nil, fmt.Errorf("sensor: spool: %w", err)
	}
	d := &diskQueue{dir: dir}
	for _, name := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(name), "seg-"), ".spool")
		n, err := strconv.ParseInt(base, 10, 64)
		if err != nil {
			continue
		}
		d.segs = append(d.segs, n)
	}
	slices.Sort(d.segs)
	// Count what the segments hold; a torn record ends its segment.
	for _, n := range d.segs {
		recs, obs, size, err := scanSegment(segName(dir, n))
		if err != nil {
			return nil, err
		}
		d.records += recs
		d.obs += obs
		d.bytes += size
	}
	if d.records == 0 {
		// Nothing whole to send: start afresh, as pop does once empty.
		for _, n := range d.segs {
			os.Remove(segName(dir, n))
		}
		d.segs, d.bytes = nil, 0
	}
	if len(d.segs) == 0 {
		d.segs = []int64{1 << 40}
	} else {
		// Write to a new segment: the last one may end in a record torn by
		// a crash, and records appended behind it could never be read (the
		// reader takes a bad record for the end of its segment).
		d.segs = append(d.segs, d.segs[len(d.segs)-1]+1)
	}
	return d, nil
}

// scanSegment counts the whole records of a segment and the bytes they
// take, up to the first torn or corrupt one, where peek stops reading too.
func scanSegment(name string) (recs, obs, size int64, err error) {
	f, err := os.Open(name)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("sensor: spool: %w", err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	var buf []byte
	for {
		data, n, ok := readRecord(br, buf)
		if !ok {
			return recs, obs, size, nil
		}
		buf = data
		recs++
		obs += int64(n)
		size += recHeader + int64(len(data))
	}
}

// readRecord reads a record from r into buf (a new one when too small) and returns
// its data and count of observations; ok is false at the end of the
// segment or at a torn or corrupt record.
func readRecord(r io.Reader, buf []byte) (data []byte, obs int, ok bool) {
	var hdr [recHeader]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, 0, false
	}
	n := int(binary.LittleEndian.Uint32(hdr[0:]))
	if n > maxRecord {
		return nil, 0, false
	}
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	data = buf[:n]
	if _, err := io.ReadFull(r, data); err != nil ||
		crc32.ChecksumIEEE(data) != binary.LittleEndian.Uint32(hdr[8:]) {
		return nil, 0, false
	}
	return data, int(binary.LittleEndian.Uint32(hdr[4:])), true
}

func appendRecord(dst, data []byte, obs int) []byte {
	var hdr [recHeader]byte
	binary.LittleEndian.PutUint32(hdr[0:], uint32(len(data)))
	binary.LittleEndian.PutUint32(hdr[4:], uint32(obs))
	binary.LittleEndian.PutUint32(hdr[8:], crc32.ChecksumIEEE(data))
	return append(append(dst, hdr[:]...), data...)
}

func (d *diskQueue) push(data []byte, obs int) error {
	if d.w == nil || d.wSize >= segmentBytes {
		if d.w != nil {
			d.w.Close()
			d.segs = append(d.segs, d.segs[len(d.segs)-1]+1)
		}
		last := d.segs[len(d.segs)-1]
		f, err := os.OpenFile(segName(d.dir, last), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return err
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return err
		}
		d.w, d.wSize = f, st.Size()
	}
	rec := appendRecord(nil, data, obs)
	if _, err := d.w.Write(rec); err != nil {
		// Part of the record may be written (a full disk): go on in a new
		// segment, so that nothing is appended behind a torn record.
		d.w.Close()
		d.w = nil
		os.Truncate(segName(d.dir, d.segs[len(d.segs)-1]), d.wSize)
		d.segs = append(d.segs, d.segs[len(d.segs)-1]+1)
		return err
	}
	d.wSize += int64(len(rec))
	d.records++
	d.obs += int64(obs)
	d.bytes += int64(len(rec))
	return nil
}

// prepend writes records into a new segment ahead of all others.
func (d *diskQueue) prepend(recs []spoolRec) error {
	// Only Close calls this: nothing reads on afterwards, and the next
	// process reads the new segment first.
	n := d.segs[0] - 1
	var buf []byte
	var obs int64
	for _, r := range recs {
		buf = appendRecord(buf, r.data, r.obs)
		obs += int64(r.obs)
	}
	if err := os.WriteFile(segName(d.dir, n), buf, 0o600); err != nil {
		return fmt.Errorf("sensor: spool: %w", err)
	}
	d.segs = append([]int64{n}, d.segs...)
	d.records += int64(len(recs))
	d.obs += obs
	d.bytes += int64(len(buf))
	return nil
}

var errSpoolEmpty = errors.New("spool empty")

// peek reads the record at the read position, moving to the next segment
// at the end of one.
func (d *diskQueue) peek() ([]byte, int, error) {
	if d.head != nil {
		return d.head, d.headObs, nil
	}
	for d.records > 0 {
		if d.r == nil {
			f, err := os.Open(segName(d.dir, d.segs[0]))
			if err != nil {
				return nil, 0, err
			}
			d.r, d.rSeg, d.rOff = f, d.segs[0], 0
		}
		if data, obs, ok := readRecord(io.NewSectionReader(d.r, d.rOff, recHeader+maxRecord), nil); ok {
			d.head, d.headObs, d.headLen = data, obs, recHeader+int64(len(data))
			return d.head, d.headObs, nil
		}
		// The end of this segment (or a torn record): on to the next one.
		if len(d.segs) == 1 {
			// The segment being written: nothing more to read yet.
			return nil, 0, errSpoolEmpty
		}
		d.dropSegment()
	}
	return nil, 0, errSpoolEmpty
}

func (d *diskQueue) pop() {
	if d.head == nil {
		if _, _, err := d.peek(); err != nil {
			return
		}
	}
	d.rOff += d.headLen
	d.records--
	d.obs -= int64(d.headObs)
	d.bytes -= d.headLen
	d.head = nil
	if d.records == 0 {
		// Empty: start afresh, so the files do not grow forever.
		d.bytes, d.obs = 0, 0
		for len(d.segs) > 1 {
			d.dropSegment()
		}
		d.closeReader()
		if d.w != nil {
			d.w.Close()
			d.w = nil
		}
		os.Remove(segName(d.dir, d.segs[0]))
	}
}

func (d *diskQueue) closeReader() {
	if d.r != nil {
		d.r.Close()
		d.r = nil
	}
}

// dropSegment removes the oldest segment.
func (d *diskQueue) dropSegment() {
	d.closeReader()
	os.Remove(segName(d.dir, d.segs[0]))
	d.segs = d.segs[1:]
}

func (d *diskQueue) close() error {
	d.closeReader()
	if d.w != nil {
		return d.w.Close()
	}
	return nil
}
