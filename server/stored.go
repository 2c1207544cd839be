package server

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/passant/passant/store"
)

// The stored mark of a site is the receive time of the newest raw batch the
// writer has written to storage, kept in the journal's directory of the site
// (DIR/journal/<site>/stored; the journal's readers take only *.jsonl). The
// writer writes batches in the order they came, the journal's order, so
// every batch up to the mark's is stored. After a crash, journal recovery stores the batches
// received after it: they were journaled and acknowledged, but still in the
// writer's memory or the site runner's queue when the server died.

const storedMarkFile = "stored"

// storedMarks are the marks written so far, by site.
type storedMarks struct {
	mu sync.Mutex
	m  map[string]mark
}

// mark is a site's stored mark: the newest receive time written, and how
// many batches received in that millisecond were written. A mark with n 0
// says that nothing from recv on is stored: the writer sets it when it
// takes the first batch of a site without a mark (a new data directory),
// so that a restart before its first write stores everything from there.
type mark struct{ recv, n int64 }

// firstMark gives site a mark at recv, the receive time of the first batch
// the writer takes of it, when it has none yet; under w.mu.
func (w *writer) firstMark(site string, recv int64) {
	if w.dir == "" {
		return
	}
	w.marks.mu.Lock()
	defer w.marks.mu.Unlock()
	if _, ok := w.marks.m[site]; ok {
		return
	}
	if w.marks.m == nil {
		w.marks.m = map[string]mark{}
	}
	m, ok := w.storedMark(site)
	if !ok {
		m = mark{recv, 0}
		w.writeMark(site, m)
	}
	w.marks.m[site] = m
}

// markStored records the newest receive time of each site among batches
// just written (in the order they came).
func (w *writer) markStored(batches []store.RawBatch) {
	if w.dir == "" {
		return
	}
	w.marks.mu.Lock()
	defer w.marks.mu.Unlock()
	if w.marks.m == nil {
		w.marks.m = map[string]mark{}
	}
	changed := map[string]bool{}
	for _, b := range batches {
		m, ok := w.marks.m[b.Site]
		if !ok {
			m, _ = w.storedMark(b.Site)
		}
		if b.Recv == m.recv {
			m.n++
		} else if b.Recv > m.recv {
			m = mark{b.Recv, 1}
		}
		w.marks.m[b.Site] = m
		changed[b.Site] = true
	}
	for site := range changed {
		w.writeMark(site, w.marks.m[site])
	}
}

// writeMark writes a site's mark file; under marks.mu.
func (w *writer) writeMark(site string, m mark) {
	dir := filepath.Join(w.dir, site)
	if os.MkdirAll(dir, 0o750) != nil {
		return
	}
	tmp := filepath.Join(dir, storedMarkFile+".tmp")
	if os.WriteFile(tmp, []byte(strconv.FormatInt(m.recv, 10)+" "+strconv.FormatInt(m.n, 10)+"\n"), 0o640) == nil {
		os.Rename(tmp, filepath.Join(dir, storedMarkFile))
	}
}

// storedMark returns a site's stored mark; ok is false when there is none
// (a store written before marks existed: nothing is stored again).
func (w *writer) storedMark(site string) (m mark, ok bool) {
	if w.dir == "" {
		return m, false
	}
	data, err := os.ReadFile(filepath.Join(w.dir, site, storedMarkFile))
	if err != nil {
		return m, false
	}
	f := strings.Fields(string(data))
	if len(f) != 2 {
		return m, false
	}
	var err1, err2 error
	m.recv, err1 = strconv.ParseInt(f[0], 10, 64)
	m.n, err2 = strconv.ParseInt(f[1], 10, 64)
	if err1 != nil || err2 != nil {
		return mark{}, false
	}
	return m, true
}

// unstored reports whether a batch met in journal recovery (one the
// pipeline took, with observations, in journal order) was not yet stored:
// it comes after the mark's batch, the n-th of the mark's millisecond. The
// journal's order is what counts, not receive times: a restarted server's
// receive times may lie before the last ones of the server before it
// (they are bumped on ties, so a burst runs them ahead of the clock).
// seen counts the batches of the mark's millisecond met so far.
func (m mark) unstored(recv int64, seen *int64) bool {
	if m.n == 0 {
		return recv >= m.recv
	}
	if *seen >= m.n {
		return true
	}
	if recv == m.recv {
		*seen++
	}
	return false
}
