package ingest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/passant/passant/wire"
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

// Sites returns the sites with a directory in the journal, sorted: those
// running, and those that ran here before (removed from the site files,
// or moved to another instance of a cluster), whose files the retention
// removes too.
func (j *Journal) Sites() ([]string, error) {
	ents, err := os.ReadDir(j.dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ingest: journal sites: %w", err)
	}
	var sites []string
	for _, e := range ents {
		if e.IsDir() && wire.ValidID(e.Name()) {
			sites = append(sites, e.Name())
		}
	}
	return sites, nil
}
