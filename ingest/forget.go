package ingest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/passant/passant/wire"
)

// ForgetInJournal rewrites the site's journal files, but those of the UTC
// days (YYYY-MM-DD) skip names, without the observations of devs: the erasure of a person (`passant forget`). A line
// holding none of them is copied byte for byte; a line holding some is
// written again with its batch's header (sensor, boot and id, by which
// a redelivered batch is dropped) and its other observations; a line
// that holds one of them but does not decode is dropped (forgetInLine). A changed
// file is written beside the old one, synced and renamed over it, so a
// reader sees the one or the other, and the directory synced. A file a
// journal has open (it holds a shared flock on it, in this process or in a
// running server) is left as it is: lines appended to it after a rename
// would be lost. Callers still skip the days they know open
// (Journal.OpenDays) and today's.
// It returns how many files changed and how many observations went.
func ForgetInJournal(dir, site string, devs []wire.Dev, skip func(day string) bool) (files int, obs int64, err error) {
	if len(devs) == 0 {
		return 0, 0, nil
	}
	unlock, err := lockForget(dir, site)
	if err != nil {
		return 0, 0, err
	}
	defer unlock()
	return forgetInJournal(dir, site, devs, skip, nil)
}

// forgetLockFile is the file, in a site's journal directory, whose flock
// serialises the erasures of the site's journal: in the server (the API's
// and the hourly pending ones) and in `passant forget`. Each rewrites a
// file from what it read, so two at once could put back the person the
// other took out, or drop the other's pending pseudonyms.
const forgetLockFile = "forget.lock"

// lockForget waits for the site's erasure lock and returns its release.
func lockForget(dir, site string) (func(), error) {
	d := filepath.Join(dir, site)
	if _, err := os.Stat(d); errors.Is(err, os.ErrNotExist) {
		return func() {}, nil // no journal of the site: nothing to rewrite
	}
	f, err := os.OpenFile(filepath.Join(d, forgetLockFile), os.O_CREATE|os.O_RDWR, 0o640)
	if err != nil {
		return nil, fmt.Errorf("ingest: forget lock: %w", err)
	}
	ok, err := tryLockExclusive(f)
	if err == nil && !ok {
		if forgetLockWaitHook != nil {
			forgetLockWaitHook()
		}
		err = lockExclusive(f)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("ingest: forget lock: %w", err)
	}
	return func() { f.Close() }, nil
}

// forgetInJournal is ForgetInJournal; busy is told of the days whose file
// a journal holds open (locked), which are left as they are.
func forgetInJournal(dir, site string, devs []wire.Dev, skip func(day string) bool, busy func(day string)) (files int, obs int64, err error) {
	if len(devs) == 0 {
		return 0, 0, nil
	}
	names, err := JournalFiles(dir, site, "", "")
	if err != nil {
		return 0, 0, err
	}
	needles := make([][]byte, len(devs))
	gone := make(map[wire.Dev]bool, len(devs))
	for i, d := range devs {
		needles[i] = []byte(d.String())
		gone[d] = true
	}
	for _, name := range names {
		day := strings.TrimSuffix(filepath.Base(name), ".jsonl")
		if skip != nil && skip(day) {
			continue
		}
		n, changed, err := forgetInFile(name, needles, gone)
		if errors.Is(err, errJournalOpen) {
			if busy != nil {
				busy(day)
			}
			continue
		}
		if err != nil {
			return files, obs, fmt.Errorf("ingest: forget in journal %s: %w", filepath.Base(name), err)
		}
		if changed {
			files++
			obs += n
		}
	}
	return files, obs, nil
}

// forgetInFile rewrites one journal file when a line of it names one of
// needles (a pseudonym) on an observation of gone, or holds one and does
// not decode (forgetInLine). It reports the observations gone and whether
// the file changed.
func forgetInFile(name string, needles [][]byte, gone map[wire.Dev]bool) (int64, bool, error) {
	in, err := os.Open(name)
	if err != nil {
		return 0, false, err
	}
	defer in.Close()
	if forgetOpenedHook != nil {
		forgetOpenedHook()
	}
	// A journal appending to the file holds a shared lock on it; the
	// exclusive one, held until the copy is renamed over the file, keeps
	// a journal from opening it meanwhile (openLocked).
	if ok, err := tryLockExclusive(in); err != nil {
		return 0, false, err
	} else if !ok {
		return 0, false, errJournalOpen
	}
	var out *os.File
	var w *bufio.Writer
	var removed int64
	var copied int64 // bytes before the first changed line, copied when it comes
	r := bufio.NewReaderSize(in, 1<<20)
	var buf []byte
	for {
		line, rerr := r.ReadSlice('\n')
		if errors.Is(rerr, bufio.ErrBufferFull) {
			// A long line: gather it whole.
			buf = append(buf[:0], line...)
			for errors.Is(rerr, bufio.ErrBufferFull) {
				line, rerr = r.ReadSlice('\n')
				buf = append(buf, line...)
			}
			line = buf
		}
		if len(line) > 0 {
			kept, n, changed := forgetInLine(line, needles, gone)
			if changed && out == nil {
				var err error
				if out, err = os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*"); err != nil {
					return 0, false, err
				}
				defer os.Remove(out.Name())
				defer out.Close()
				w = bufio.NewWriterSize(out, 1<<20)
				if _, err := in.Seek(0, io.SeekStart); err != nil {
					return 0, false, err
				}
				if _, err := io.CopyN(w, in, copied); err != nil {
					return 0, false, err
				}
				if _, err := in.Seek(copied+int64(len(line)), io.SeekStart); err != nil {
					return 0, false, err
				}
				r.Reset(in)
			}
			removed += n
			if out != nil {
				if _, err := w.Write(kept); err != nil {
					return 0, false, err
				}
			} else {
				copied += int64(len(line))
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return 0, false, rerr
		}
	}
	if out == nil {
		return 0, false, nil
	}
	if err := w.Flush(); err != nil {
		return 0, false, err
	}
	fi, err := in.Stat()
	if err != nil {
		return 0, false, err
	}
	if err := out.Chmod(fi.Mode().Perm()); err != nil {
		return 0, false, err
	}
	if err := out.Sync(); err != nil {
		return 0, false, err
	}
	if err := out.Close(); err != nil {
		return 0, false, err
	}
	if err := os.Rename(out.Name(), name); err != nil {
		return 0, false, err
	}
	// Else a power loss could bring the old file, with the person, back.
	if err := syncDir(filepath.Dir(name)); err != nil {
		return 0, false, err
	}
	return removed, true, nil
}

// syncDir syncs a directory after a rename in it (tests wrap it).
var syncDir = syncDirOS

// Test hooks: forgetOpenedHook runs once a file to rewrite is open,
// forgetLockWaitHook before an erasure waits for another's lock.
var forgetOpenedHook, forgetLockWaitHook func()

// errJournalOpen: a journal has the file open (it holds a lock on it).
var errJournalOpen = errors.New("the journal has the file open")

// forgetInLine returns the line without the observations of gone, how
// many went, and whether the line changed. A line that holds none of the
// pseudonyms (needles, unquoted: a quote may be the byte that went bad) is
// returned as it is. One that holds one and does not decode (bit rot, a
// line torn by a crash) is dropped whole: its observations cannot be
// told apart, and keeping it would keep the person. One that decodes is
// written again without gone's observations, and without those the
// parser drops (a bad rssi), which may be theirs: never located or
// counted as people, so a replay's figures are unchanged, but the
// sensor's count of refused observations (the pipeline's Dropped, the
// Sensors page's "Late or refused") replays lower by as many.
func forgetInLine(line []byte, needles [][]byte, gone map[wire.Dev]bool) ([]byte, int64, bool) {
	hit := false
	for _, n := range needles {
		if bytes.Contains(line, n) {
			hit = true
			break
		}
	}
	if !hit {
		return line, 0, false
	}
	recv, b, drops, err := wire.ParseLine(bytes.TrimSpace(line))
	if err != nil {
		return nil, 0, true
	}
	kept := b.Obs[:0]
	for _, o := range b.Obs {
		if !gone[o.Dev] {
			kept = append(kept, o)
		}
	}
	n := int64(len(b.Obs) - len(kept))
	if n == 0 && drops.Total() == 0 {
		return line, 0, false
	}
	b.Obs = kept
	var out []byte
	if recv != 0 {
		out = wire.AppendJournalLine(nil, recv, &b)
	} else {
		out = wire.AppendBatch(nil, &b)
	}
	return append(out, '\n'), n, true
}

// OpenDays returns the UTC days of the site's journal files that the
// journal has open (the current one, and a past one still being synced or
// appended to out of order): ForgetInJournal must skip them.
func (j *Journal) OpenDays(site string) map[string]bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.openDays(site)
}

// openDays is OpenDays under j.mu.
func (j *Journal) openDays(site string) map[string]bool {
	days := map[string]bool{}
	if f := j.files[site]; f != nil {
		days[f.day] = true
	}
	for k := range j.gone {
		if k.site == site {
			days[k.day] = true
		}
	}
	return days
}

// pendingFile is the file, in a site's journal directory, of the
// pseudonyms erased whose observations are still in journal files that
// were open when they were erased (not a .jsonl file: no reader of the
// journal takes it). It is removed once no file is left.
const pendingFile = "forget-pending.json"

type pendingJSON struct {
	Devs []wire.Dev `json:"devs"`
}

// HasPending reports whether the site has erasures pending in the journal.
func HasPending(dir, site string) bool {
	_, err := os.Stat(filepath.Join(dir, site, pendingFile))
	return err == nil
}

// ForgetPending is ForgetInJournal for devs and the pseudonyms pending
// from before: the days skip names are left, and their pseudonyms kept
// pending; with none left the pending file goes. It returns the files
// changed, the observations gone and the days left.
func ForgetPending(dir, site string, devs []wire.Dev, skip func(day string) bool) (files int, obs int64, left []string, err error) {
	unlock, err := lockForget(dir, site)
	if err != nil {
		return 0, 0, nil, err
	}
	defer unlock()
	name := filepath.Join(dir, site, pendingFile)
	var pending pendingJSON
	b, err := os.ReadFile(name)
	switch {
	case err == nil:
		if err := json.Unmarshal(b, &pending); err != nil {
			return 0, 0, nil, fmt.Errorf("ingest: pending erasures %s: %w", name, err)
		}
	case !errors.Is(err, os.ErrNotExist):
		return 0, 0, nil, fmt.Errorf("ingest: pending erasures: %w", err)
	}
	all := append(slices.Clone(devs), pending.Devs...)
	slices.Sort(all)
	all = slices.Compact(all)
	if len(all) == 0 {
		return 0, 0, nil, nil
	}
	files, obs, err = forgetInJournal(dir, site, all, func(day string) bool {
		if skip != nil && skip(day) {
			left = append(left, day)
			return true
		}
		return false
	}, func(day string) { left = append(left, day) })
	if err != nil {
		return files, obs, left, err
	}
	if len(left) == 0 {
		err = os.Remove(name)
		if errors.Is(err, os.ErrNotExist) {
			err = nil
		}
	} else if len(all) != len(pending.Devs) {
		b, _ := json.Marshal(pendingJSON{Devs: all})
		err = WriteFileAtomic(name, b)
	}
	if err != nil {
		return files, obs, left, fmt.Errorf("ingest: pending erasures: %w", err)
	}
	return files, obs, left, nil
}

// WriteFileAtomic writes b to name (mode 0600) through a synced temporary
// file renamed over it, and syncs the directory: name holds the old or the
// new data whole, and a power loss does not bring the old back (the pending
// erasures, the server's checkpoint).
func WriteFileAtomic(name string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o750); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(b)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), name)
	}
	if err == nil {
		err = syncDir(filepath.Dir(name))
	}
	return err
}

// CheckpointFile is the server's checkpoint of a site's state, in the
// site's journal directory (server/checkpoint.go).
const CheckpointFile = "checkpoint"

// RemoveCheckpoint removes the site's checkpoint, if any: it holds a
// person's state and a position in journal files an erasure may have
// written again; a start without it replays yesterday and today.
// It reports whether there was one.
func RemoveCheckpoint(dir, site string) (bool, error) {
	err := os.Remove(filepath.Join(dir, site, CheckpointFile))
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err == nil {
		// Else a power loss could bring it back.
		err = syncDir(filepath.Join(dir, site))
	}
	if err != nil {
		return false, fmt.Errorf("ingest: remove the checkpoint: %w", err)
	}
	return true, nil
}
