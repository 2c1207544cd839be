package sensor

import (
	"bufio"
	"bytes"
	"container/heap"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// Source yields captured radiotap frames.
type Source interface {
	// Next returns the next frame. data stays valid until the next call.
	// At the end of a finite source it returns io.EOF.
	Next(ctx context.Context) (data []byte, ci gopacket.CaptureInfo, err error)
	// Now is the source's clock, Unix ms: the wall clock for a live
	// capture, the capture time being replayed for a file.
	Now() int64
	Close() error
}

// packetReader is what pcapgo.Reader and pcapgo.NgReader have in common.
type packetReader interface {
	ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error)
}

// fileReader reads one pcap or pcapng file of radiotap frames.
type fileReader struct {
	name string
	f    *os.File
	r    packetReader
	ng   *pcapgo.NgReader
	n    int // frames read
	// the frame read ahead, for merging
	data []byte
	ci   gopacket.CaptureInfo
	err  error
}

// ngMagic is the block type of a pcapng section header (the same in
// either byte order).
var ngMagic = []byte{0x0a, 0x0d, 0x0d, 0x0a}

func openFile(name string) (*fileReader, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("sensor: %w", err)
	}
	br := bufio.NewReaderSize(f, 1<<16)
	magic, _ := br.Peek(4)
	fr := &fileReader{name: name, f: f}
	var lt layers.LinkType
	if bytes.Equal(magic, ngMagic) {
		ng, err := pcapgo.NewNgReader(br, pcapgo.NgReaderOptions{})
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("sensor: %s: not a readable pcapng file: %w", name, err)
		}
		fr.r, fr.ng, lt = ng, ng, ng.LinkType()
	} else {
		r, err := pcapgo.NewReader(br)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("sensor: %s: not a pcap or pcapng file: %w", name, err)
		}
		fr.r, lt = r, r.LinkType()
	}
	if lt != layers.LinkTypeIEEE80211Radio {
		f.Close()
		return nil, fmt.Errorf("sensor: %s: link type %v (%d), want 802.11 with radiotap headers (127): "+
			"capture on a monitor-mode interface", name, lt, int(lt))
	}
	return fr, nil
}

// advance reads the next frame into fr.data/ci/err, skipping frames of a
// pcapng interface whose link type is not radiotap.
func (fr *fileReader) advance() {
	for {
		fr.data, fr.ci, fr.err = fr.r.ZeroCopyReadPacketData()
		if fr.err != nil {
			if !errors.Is(fr.err, io.EOF) {
				fr.err = fmt.Errorf("sensor: %s: after frame %d: %w", fr.name, fr.n, fr.err)
			}
			return
		}
		fr.n++
		if fr.ng != nil && fr.ci.InterfaceIndex != 0 {
			if iface, err := fr.ng.Interface(fr.ci.InterfaceIndex); err != nil || iface.LinkType != layers.LinkTypeIEEE80211Radio {
				continue
			}
		}
		return
	}
}

// FileSource replays pcap and pcapng files. Frames of several files are
// merged in time order (as mergecap does). Without Fast it keeps the
// recorded pace: a frame is returned when as much time has passed since
// the first frame as passed in the capture.
type FileSource struct {
	files []*fileReader
	h     fileHeap
	fast  bool
	start time.Time
	t0    time.Time // capture time of the first frame
	errs  []error
	timer *time.Timer
	// The clock, read by other goroutines: the capture time of the last
	// frame (fast), or wall clock + offset (recorded pace), Unix ms.
	now    atomic.Int64
	offset atomic.Int64
	paced  atomic.Bool
}

// OpenFiles opens the named capture files. fast replays them as fast as
// they can be read.
func OpenFiles(names []string, fast bool) (*FileSource, error) {
	if len(names) == 0 {
		return nil, errors.New("sensor: no capture file given")
	}
	s := &FileSource{fast: fast}
	for _, n := range names {
		fr, err := openFile(n)
		if err != nil {
			s.Close()
			return nil, err
		}
		s.files = append(s.files, fr)
	}
	for _, fr := range s.files {
		fr.advance()
		s.push(fr)
	}
	return s, nil
}

func (s *FileSource) push(fr *fileReader) {
	if fr.err != nil {
		if !errors.Is(fr.err, io.EOF) {
			s.errs = append(s.errs, fr.err)
		}
		return
	}
	heap.Push(&s.h, fr)
}

// Next implements Source. At the end it returns io.EOF, or the errors of
// the files that ended in a read error (all other frames were returned).
func (s *FileSource) Next(ctx context.Context) ([]byte, gopacket.CaptureInfo, error) {
	// The frame returned last is still the head's: read that file on now.
	if s.h.last != nil {
		fr := s.h.last
		s.h.last = nil
		fr.advance()
		if fr.err != nil {
			heap.Pop(&s.h)
			s.push(fr)
		} else {
			heap.Fix(&s.h, 0)
		}
	}
	if len(s.h.files) == 0 {
		if len(s.errs) > 0 {
			return nil, gopacket.CaptureInfo{}, errors.Join(s.errs...)
		}
		return nil, gopacket.CaptureInfo{}, io.EOF
	}
	fr := s.h.files[0]
	s.h.last = fr
	if !s.fast {
		if err := s.pace(ctx, fr.ci.Timestamp); err != nil {
			return nil, gopacket.CaptureInfo{}, err
		}
	}
	s.now.Store(fr.ci.Timestamp.UnixMilli())
	return fr.data, fr.ci, nil
}

// pace waits until the frame's time comes at the recorded pace.
func (s *FileSource) pace(ctx context.Context, ts time.Time) error {
	if s.start.IsZero() {
		s.start, s.t0 = time.Now(), ts
		s.offset.Store(ts.UnixMilli() - s.start.UnixMilli())
		s.paced.Store(true)
		return nil
	}
	wait := ts.Sub(s.t0) - time.Since(s.start)
	if wait <= 0 {
		return ctx.Err()
	}
	if s.timer == nil {
		s.timer = time.NewTimer(wait)
	} else {
		s.timer.Reset(wait)
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-s.timer.C:
		return nil
	}
}

// Now implements Source: the capture time being replayed.
func (s *FileSource) Now() int64 {
	if s.paced.Load() {
		return max(time.Now().UnixMilli()+s.offset.Load(), s.now.Load())
	}
	return s.now.Load()
}

// Frames returns how many frames were read from each file, in the order given.
func (s *FileSource) Frames() []int {
	n := make([]int, len(s.files))
	for i, fr := range s.files {
		n[i] = fr.n
	}
	return n
}

// Close implements Source.
func (s *FileSource) Close() error {
	for _, fr := range s.files {
		fr.f.Close()
	}
	return nil
}

// fileHeap orders files by the time of their next frame (ties: the order
// given, so one file keeps its own order).
type fileHeap struct {
	files []*fileReader
	index map[*fileReader]int
	last  *fileReader
}

func (h *fileHeap) Len() int { return len(h.files) }
func (h *fileHeap) Less(i, j int) bool {
	a, b := h.files[i], h.files[j]
	if !a.ci.Timestamp.Equal(b.ci.Timestamp) {
		return a.ci.Timestamp.Before(b.ci.Timestamp)
	}
	return h.index[a] < h.index[b]
}
func (h *fileHeap) Swap(i, j int) { h.files[i], h.files[j] = h.files[j], h.files[i] }
func (h *fileHeap) Push(x any) {
	fr := x.(*fileReader)
	if h.index == nil {
		h.index = make(map[*fileReader]int)
	}
	if _, ok := h.index[fr]; !ok {
		h.index[fr] = len(h.index)
	}
	h.files = append(h.files, fr)
}
func (h *fileHeap) Pop() any {
	fr := h.files[len(h.files)-1]
	h.files = h.files[:len(h.files)-1]
	return fr
}
