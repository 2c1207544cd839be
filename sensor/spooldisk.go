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
)

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
	// per segment, what it holds still (records not yet popped): what is
	// lost when a bad record ends it early
	held map[int64]segHeld
	lost SpoolDrops
}

// segHeld is what one segment holds.
type segHeld struct {
	records, obs, bytes int64
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
	d := &diskQueue{dir: dir, held: map[int64]segHeld{}}
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
		d.held[n] = segHeld{recs, obs, size}
	}
	if d.records == 0 {
		// Nothing whole to send: start afresh, as pop does once empty.
		for _, n := range d.segs {
			os.Remove(segName(dir, n))
		}
		d.segs, d.bytes = nil, 0
		clear(d.held)
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
	h := d.held[d.segs[len(d.segs)-1]]
	d.held[d.segs[len(d.segs)-1]] = segHeld{h.records + 1, h.obs + int64(obs), h.bytes + int64(len(rec))}
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
	d.held[n] = segHeld{int64(len(recs)), obs, int64(len(buf))}
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
		// The end of this segment, or a bad record (bit rot) when it
		// still holds records: those are lost, the reader cannot find
		// where the next one starts.
		if h := d.held[d.segs[0]]; h.records > 0 {
			d.records -= h.records
			d.obs -= h.obs
			d.bytes -= h.bytes
			d.lost.Batches += h.records
			d.lost.Obs += h.obs
			if len(d.segs) == 1 {
				// The segment being written: write on in a new one,
				// since nothing behind the bad record can be read.
				if d.w != nil {
					d.w.Close()
					d.w = nil
				}
				d.segs = append(d.segs, d.segs[0]+1)
			}
		} else if len(d.segs) == 1 {
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
	h := d.held[d.rSeg]
	d.held[d.rSeg] = segHeld{h.records - 1, h.obs - int64(d.headObs), h.bytes - d.headLen}
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
		clear(d.held)
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
	delete(d.held, d.segs[0])
	d.segs = d.segs[1:]
}

func (d *diskQueue) close() error {
	d.closeReader()
	if d.w != nil {
		return d.w.Close()
	}
	return nil
}
