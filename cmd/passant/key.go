package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/passant/passant/sensor"
)

func init() {
	register(command{name: "key", summary: "derive the current epoch key from the site key, for a sensor that should hold only that", run: runKey})
}

func runKey(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("key", stderr)
	keyFile := fs.String("key-file", "", "site key `file` (else $"+sensor.EnvSiteKey+")")
	rotate := fs.String("rotate", "720h", "key rotation period, or never (as the sensors use)")
	at := fs.String("at", "", "derive the key of the epoch holding this `time` (RFC 3339; default now)")
	out := fs.String("out", "", "write the epoch key file here (mode 0600) instead of stdout")
	if err := fs.Parse(args); err != nil {
		return err
	}
	period, err := sensor.ParseRotation(*rotate)
	if err != nil {
		return err
	}
	site, err := readSiteKey("key", *keyFile)
	if err != nil {
		return err
	}
	t := time.Now()
	if *at != "" {
		if t, err = time.Parse(time.RFC3339, *at); err != nil {
			return fmt.Errorf("key: --at: %w", err)
		}
	}
	k := sensor.EpochKeyAt(site, period, t.UnixMilli())
	if *out != "" {
		if err := sensor.WriteEpochKeyFile(*out, k); err != nil {
			return err
		}
	} else if _, err := stdout.Write(k.Marshal()); err != nil {
		return err
	}
	if period > 0 {
		from := time.UnixMilli(k.Epoch * period.Milliseconds()).UTC()
		fmt.Fprintf(stderr, "epoch %d: from %s to %s\n", k.Epoch, from.Format(time.RFC3339), from.Add(period).Format(time.RFC3339))
	}
	return nil
}

// readSiteKey reads the site key from file, else from $PASSANT_SITE_KEY,
// for the command cmd; an epoch key file is refused (it cannot give the
// keys of the epochs before its own).
func readSiteKey(cmd, file string) ([]byte, error) {
	var data []byte
	switch {
	case file != "":
		var err error
		if data, err = os.ReadFile(file); err != nil {
			return nil, fmt.Errorf("%s: %w", cmd, err)
		}
	case os.Getenv(sensor.EnvSiteKey) != "":
		data = []byte(os.Getenv(sensor.EnvSiteKey))
	default:
		return nil, fmt.Errorf("%s: give --key-file FILE or set %s", cmd, sensor.EnvSiteKey)
	}
	if _, isEpoch, _ := sensor.ParseEpochKeyFile(data); isEpoch {
		return nil, fmt.Errorf("%s: that is an epoch key file; give the site key", cmd)
	}
	return sensor.SiteKey(data)
}
