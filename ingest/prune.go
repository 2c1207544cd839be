package ingest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Prune removes the site's journal files of the UTC days before before
// (YYYY-MM-DD), but those the journal has open: the retention of raw
// observations, which the files hold as the sensors sent them. It returns
// how many files went and their bytes.
func (j *Journal) Prune(site, before string) (files int, size int64, err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	open := j.openDays(site)
	names, err := JournalFiles(j.dir, site, "", "")
	if err != nil {
		return 0, 0, err
	}
	for _, name := range names {
		day := strings.TrimSuffix(filepath.Base(name), ".jsonl")
		if day >= before || open[day] {
			continue
		}
		st, err := os.Stat(name)
		if err != nil {
			return files, size, fmt.Errorf("ingest: prune the journal: %w", err)
		}
		if err := os.Remove(name); err != nil {
			return files, size, fmt.Errorf("ingest: prune the journal: %w", err)
		}
		files++
		size += st.Size()
	}
	return files, size, nil
}
