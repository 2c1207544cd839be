package replay

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/passant/passant/footfall"
)

// The contract's positions.jsonl gives each fix "the track the fix belongs
// to when the replay ends". Positions are written as they are computed, under
// the name their track has then; two things join tracks later: the
// tracker's late merges (a deferred link, locate.Merge: the positions
// written so far under the merged track's name are the other's) and the
// report's joins of street fragments (footfall.Joins: a fragment counts as
// the track it was joined into). A renamer collects both and, when the
// replay ends, rewrites the file's track names once.
type renamer struct {
	// merged: per merged track name, the merges of that name, each with
	// the number of positions written before it (only those carried the
	// name as the merged track's: a later track may take the name again).
	merged map[string][]alias
	// joins: per track name (after merges), the track-days joined into
	// another track.
	joins map[string][]footfall.Join
	// names: the keys of merged and joins (touched; made once the
	// replay has ended)
	names map[string]struct{}
}

type alias struct {
	into   string
	before int64 // positions written before the merge
}

// merge records that track from was merged into track into after n
// positions had been written.
func (r *renamer) merge(from, into string, n int64) {
	if r.merged == nil {
		r.merged = map[string][]alias{}
	}
	r.merged[from] = append(r.merged[from], alias{into, n})
}

// join records the report's joins of street fragments.
func (r *renamer) join(js []footfall.Join) {
	if r.joins == nil {
		r.joins = map[string][]footfall.Join{}
	}
	for _, j := range js {
		r.joins[j.Track] = append(r.joins[j.Track], j)
	}
}

func (r *renamer) empty() bool { return len(r.merged) == 0 && len(r.joins) == 0 }

// final returns the name of the track that position number line (from 0),
// at t and written under track, belongs to when the replay ends.
func (r *renamer) final(track string, t, line int64) string {
	for hops := 0; hops < 1<<10; hops++ { // merges form no cycle; bound it anyway
		next := ""
		for _, a := range r.merged[track] {
			if line < a.before {
				next = a.into
				break
			}
		}
		if next == "" {
			break
		}
		track = next
	}
	for _, j := range r.joins[track] {
		if t >= j.First && t <= j.Last {
			return j.Into
		}
	}
	return track
}

// touched returns whether a position written under track may be renamed:
// whether track was merged or joined (final returns any other name as it
// is). One lookup per line of the rewrite, without a string made of it.
func (r *renamer) touched(track []byte) bool {
	if r.names == nil {
		r.names = make(map[string]struct{}, len(r.merged)+len(r.joins))
		for n := range r.merged {
			r.names[n] = struct{}{}
		}
		for n := range r.joins {
			r.names[n] = struct{}{}
		}
	}
	_, ok := r.names[string(track)]
	return ok
}

// rewrite renames the tracks of the positions file at path (written by
// wire.AppendPosition, one a line) through a temporary file beside it.
func (r *renamer) rewrite(path string) error {
	in, err := os.Open(path)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after the rename, nothing is there
	if err := tmp.Chmod(st.Mode().Perm()); err != nil {
		tmp.Close()
		return err
	}
	w := bufio.NewWriterSize(tmp, 64<<10)
	rd := bufio.NewReaderSize(in, 64<<10)
	var buf []byte
	for line := int64(0); ; line++ {
		l, err := rd.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			buf = append(buf[:0], l...)
			for err == bufio.ErrBufferFull {
				l, err = rd.ReadSlice('\n')
				buf = append(buf, l...)
			}
			l = buf
		}
		if len(l) > 0 {
			if err := r.renameLine(w, l, line); err != nil {
				tmp.Close()
				return fmt.Errorf("line %d: %w", line+1, err)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			tmp.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

var (
	tKey     = []byte(`{"t":`)
	trackKey = []byte(`,"track":"`)
)

// renameLine writes position line l (number line) with its track renamed.
// Its time is read only where the track may be renamed.
func (r *renamer) renameLine(w *bufio.Writer, l []byte, line int64) error {
	if !bytes.HasPrefix(l, tKey) {
		return fmt.Errorf("not a position: %.40q", l)
	}
	i := bytes.Index(l, trackKey)
	if i < 0 {
		return fmt.Errorf("no track: %.40q", l)
	}
	start := i + len(trackKey)
	n := bytes.IndexByte(l[start:], '"')
	if n < 0 {
		return fmt.Errorf("track unterminated: %.40q", l)
	}
	tb := l[start : start+n]
	// an escaped name is none of ours
	if !r.touched(tb) || bytes.IndexByte(tb, '\\') >= 0 {
		_, err := w.Write(l)
		return err
	}
	t, err := strconv.ParseInt(string(l[len(tKey):i]), 10, 64)
	if err != nil {
		return fmt.Errorf("time: %w", err)
	}
	track := string(tb)
	name := r.final(track, t, line)
	if name == track {
		_, err := w.Write(l)
		return err
	}
	w.Write(l[:start])
	w.WriteString(name)
	_, err = w.Write(l[start+n:])
	return err
}
