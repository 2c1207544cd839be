//go:build !sensoronly

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/passant/passant/ingest"
	"github.com/passant/passant/sensor"
	"github.com/passant/passant/store"
	"github.com/passant/passant/web"
	"github.com/passant/passant/wire"
)

func init() {
	register(command{name: "forget", summary: "erase a person from a site's stored data, given their phone's MAC address (GDPR art. 17)", run: runForget})
}

// forgetMargin widens the epochs looked at on either side: a sensor whose
// clock is off near an epoch's end pseudonymises with the next or the
// previous epoch's key.
const forgetMargin = 24 * time.Hour

// forgetNow is the wall clock (tests set it).
var forgetNow = time.Now

func runForget(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("forget", stderr)
	site := fs.String("site", "", "the site `id`")
	keyFile := fs.String("key-file", "", "site key `file` (else $"+sensor.EnvSiteKey+"); an epoch key cannot give past pseudonyms")
	rotate := fs.String("rotate", "720h", "pseudonym key rotation period, or never (as the sensors use)")
	db := fs.String("db", "", "`URL` of PostgreSQL (postgres://...); none: the embedded database in --data")
	data := fs.String("data", store.DefaultDataDir, "data `directory` of the embedded database")
	macsFile := fs.String("macs", "", "read MAC addresses from this `file` too (one a line, # comments, as a sensor's --opt-out file; - for stdin)")
	printDevs := fs.Bool("print-devs", false, "open no store: print the pseudonyms as the body of POST /api/sites/{site}/forget (needs --since)")
	today := fs.Bool("journal-today", false, "also rewrite today's (UTC) journal file: only with the server stopped, which appends to it")
	since := fs.String("since", "", "with --print-devs: the earliest `date` (YYYY-MM-DD, UTC) the server may hold data of")
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: passant forget --site SITE [--key-file FILE] [--rotate 720h] [--data DIR | --db URL] [--macs FILE] MAC...
       passant forget --site SITE [--key-file FILE] --print-devs --since YYYY-MM-DD MAC... | curl ... -d @- .../forget

Erases a person from the site's stored data (GDPR art. 17): computes the
pseudonyms of each MAC address under every key epoch the store may still hold
(from its oldest observation, fix, visit, track day or journal file to now), and deletes
their raw observations and position fixes, and the fixes, visits (store and
zones) and track days of every track named after one of them or holding one of
their fixes, with the other pseudonyms linked into those tracks; and their
observations in the server's journal files in DIR/journal (all but today's,
unless --journal-today), and the server's checkpoint of the site. It prints how many rows went per table, never the
addresses. The hourly aggregates stay
(counts, about nobody). Add the addresses to the sensors' --opt-out file too,
or they keep being heard. A server running now keeps today's and yesterday's
summaries in memory and would write them again: with the server up, send the
pseudonyms to its API instead (--print-devs).

`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *site == "" || !wire.ValidID(*site) {
		fs.Usage()
		return errors.New("forget: give --site SITE")
	}
	macs, err := forgetMACs(fs.Args(), *macsFile)
	if err != nil {
		return err
	}
	period, err := sensor.ParseRotation(*rotate)
	if err != nil {
		return err
	}
	key, err := readSiteKey("forget", *keyFile)
	if err != nil {
		return err
	}
	now := forgetNow().UnixMilli()

	if *printDevs {
		if *since == "" {
			return errors.New("forget: --print-devs needs --since YYYY-MM-DD: the earliest day the server may hold data of")
		}
		from, err := time.Parse(time.DateOnly, *since)
		if err != nil {
			return fmt.Errorf("forget: --since: want YYYY-MM-DD: %w", err)
		}
		devs, err := sensor.Pseudonyms(key, period, macs, from.Add(-forgetMargin).UnixMilli(), now+forgetMargin.Milliseconds())
		if err != nil {
			return err
		}
		return json.NewEncoder(stdout).Encode(web.ForgetRequest{Devs: devs})
	}
	if *since != "" {
		return errors.New("forget: --since goes with --print-devs; with a store the time comes from the stored data")
	}

	st, err := store.Open(ctx, *db, *data)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.CheckSchema(ctx); err != nil {
		return err
	}
	from, ok, err := st.DataSince(ctx, *site)
	if err != nil {
		return err
	}
	// The journal may hold the person when the store does not (yet).
	jdir := filepath.Join(*data, "journal")
	if first, jok, err := journalSince(jdir, *site); err != nil {
		return fmt.Errorf("forget: %w", err)
	} else if jok && (!ok || first < from) {
		from, ok = first, true
	}
	if !ok {
		fmt.Fprintf(stdout, "site %s: the %s store holds no observations, fixes, visits or track days, the journal no file: nothing to forget\n", *site, st.Backend())
		return nil
	}
	devs, err := sensor.Pseudonyms(key, period, macs, from-forgetMargin.Milliseconds(), now+forgetMargin.Milliseconds())
	if err != nil {
		return err
	}
	f, err := st.ForgetDevs(ctx, *site, devs, nil)
	if err != nil {
		return fmt.Errorf("forget: %w", err)
	}
	printForgotten(stdout, *site, st.Backend(), len(macs), from, f)
	day := forgetNow().UTC().Format(time.DateOnly)
	// With the journal's erasures a running server left pending (in
	// files it had open then).
	files, obs, left, err := ingest.ForgetPending(jdir, *site, f.Erased,
		func(d string) bool { return d == day && !*today })
	if err != nil {
		return fmt.Errorf("forget: the store is done, the journal not: %w", err)
	}
	fmt.Fprintf(stdout, "  journal       %d observations deleted in %d files of %s", obs, files, filepath.Join(jdir, *site))
	if len(left) > 0 {
		fmt.Fprintf(stdout, " (files of %s left, their erasure pending: a running server appends to them; the server does it once it closed them, or --journal-today with the server stopped)", strings.Join(left, ", "))
	}
	fmt.Fprintln(stdout)
	// The server's checkpoint of the site holds the person's state too.
	if had, err := ingest.RemoveCheckpoint(jdir, *site); err != nil {
		return fmt.Errorf("forget: %w", err)
	} else if had {
		fmt.Fprintln(stdout, "  checkpoint    removed (it held the site's state; the server's next start replays yesterday and today)")
	}
	fmt.Fprintln(stdout, "  kept: the hourly aggregates (counts, about nobody). Add the addresses to the sensors' --opt-out file, or they go on being heard.")
	return nil
}

// journalSince returns the start of the UTC day of the site's oldest
// journal file, if any.
func journalSince(dir, site string) (int64, bool, error) {
	files, err := ingest.JournalFiles(dir, site, "", "")
	if err != nil {
		return 0, false, err
	}
	for _, f := range files {
		if day, err := time.Parse(time.DateOnly, strings.TrimSuffix(filepath.Base(f), ".jsonl")); err == nil {
			return day.UnixMilli(), true, nil
		}
	}
	return 0, false, nil
}

// forgetMACs reads the MAC addresses of the arguments and of file (the
// opt-out file's form); errors never repeat an address.
func forgetMACs(args []string, file string) ([][6]byte, error) {
	var macs [][6]byte
	for i, a := range args {
		m, err := sensor.ParseMAC(a)
		if err != nil {
			return nil, fmt.Errorf("forget: argument %d: %w", i+1, err)
		}
		macs = append(macs, m)
	}
	if file != "" {
		var o sensor.OptOut
		var err error
		if file == "-" {
			o, err = sensor.ReadOptOut(os.Stdin)
			if err != nil {
				err = fmt.Errorf("forget: stdin: %w", err)
			}
		} else {
			o, err = sensor.LoadOptOut(file)
		}
		if err != nil {
			return nil, err
		}
		for m := range o {
			macs = append(macs, m)
		}
	}
	if len(macs) == 0 {
		return nil, errors.New("forget: give at least one MAC address (arguments or --macs FILE)")
	}
	return macs, nil
}

// printForgotten tells what went, per table, and what stays.
func printForgotten(w io.Writer, site, backend string, macs int, since int64, f store.Forgotten) {
	var b strings.Builder
	fmt.Fprintf(&b, "site %s (%s store, data since %s): forgot %d MAC address(es) as %d pseudonyms\n",
		site, backend, time.UnixMilli(since).UTC().Format(time.DateOnly), macs, f.Devs)
	fmt.Fprintf(&b, "  observations  %d deleted\n", f.Observations)
	fmt.Fprintf(&b, "  positions     %d deleted\n", f.Positions)
	fmt.Fprintf(&b, "  visits        %d deleted (store and zone visits)\n", f.Visits)
	fmt.Fprintf(&b, "  track_days    %d deleted\n", f.TrackDays)
	fmt.Fprintf(&b, "  tracks        %d erased; %d other pseudonyms linked into them erased too\n", f.Tracks, f.Linked)
	io.WriteString(w, b.String())
}
