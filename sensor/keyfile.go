package sensor

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// EnvSiteKey is the environment variable that may hold the site key (or an
// epoch key file's content) instead of a key file.
const EnvSiteKey = "PASSANT_SITE_KEY"

// EpochKeyFile is a key file that holds one epoch's key instead of the site
// key. Its form, one JSON object:
//
//	{"passant_epoch_key":1,"epoch":680,"period":"720h","key":"<64 hex characters>"}
//
// epoch is floor(t / period) for t in Unix ms (0 with period "never"), key
// is K(epoch) of the contract in hex. A node given such a file computes
// pseudonyms for that epoch and later ones only; when it moves to the next
// epoch it overwrites the file with the new key, so a stolen node holds no
// key of a past epoch.
type EpochKeyFile struct {
	Epoch  int64
	Period time.Duration // 0: never
	Key    []byte
}

type epochKeyJSON struct {
	Format int    `json:"passant_epoch_key"`
	Epoch  int64  `json:"epoch"`
	Period string `json:"period"`
	Key    string `json:"key"`
}

// FormatRotation writes a rotation period as the flag takes it: "never" or
// a Go duration.
func FormatRotation(p time.Duration) string {
	if p <= 0 {
		return "never"
	}
	if p%time.Hour == 0 {
		return strconv.FormatInt(int64(p/time.Hour), 10) + "h"
	}
	return p.String()
}

// ParseRotation reads "never" or a positive Go duration (e.g. 720h).
func ParseRotation(s string) (time.Duration, error) {
	if s == "never" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < time.Millisecond {
		return 0, fmt.Errorf("sensor: rotation %q: want \"never\" or a duration such as 720h", s)
	}
	return d, nil
}

// Marshal returns the file's bytes.
func (k EpochKeyFile) Marshal() []byte {
	b, _ := json.Marshal(epochKeyJSON{Format: 1, Epoch: k.Epoch, Period: FormatRotation(k.Period), Key: hex.EncodeToString(k.Key)})
	return append(b, '\n')
}

// ParseEpochKeyFile reads an epoch key file. ok is false when data is not
// one (then it is a site key).
func ParseEpochKeyFile(data []byte) (k EpochKeyFile, ok bool, err error) {
	d := bytes.TrimSpace(data)
	if !bytes.HasPrefix(d, []byte("{")) || !bytes.Contains(d, []byte(`"passant_epoch_key"`)) {
		return k, false, nil
	}
	var j epochKeyJSON
	if err := json.Unmarshal(d, &j); err != nil {
		return k, true, errors.New("sensor: epoch key file: not valid JSON")
	}
	if j.Format != 1 {
		return k, true, fmt.Errorf("sensor: epoch key file: format %d, want 1", j.Format)
	}
	if k.Period, err = ParseRotation(j.Period); err != nil {
		return k, true, fmt.Errorf("sensor: epoch key file: %w", err)
	}
	if k.Key, err = hex.DecodeString(j.Key); err != nil || len(k.Key) != 32 {
		return k, true, errors.New("sensor: epoch key file: key is not 64 hex characters")
	}
	if j.Epoch < 0 || k.Period == 0 && j.Epoch != 0 {
		return k, true, errors.New("sensor: epoch key file: bad epoch")
	}
	k.Epoch = j.Epoch
	return k, true, nil
}

// WriteEpochKeyFile writes k to name atomically (a temporary file renamed
// over it), readable by the owner only.
func WriteEpochKeyFile(name string, k EpochKeyFile) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*")
	if err != nil {
		return fmt.Errorf("sensor: write epoch key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err == nil {
		_, err = tmp.Write(k.Marshal())
		if err == nil {
			err = tmp.Sync()
		}
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), name)
	}
	if err != nil {
		return fmt.Errorf("sensor: write epoch key: %w", err)
	}
	return nil
}

// KeyConfig says where a node's key comes from.
type KeyConfig struct {
	File     string        // --key-file; empty: the environment
	Env      string        // the value of PASSANT_SITE_KEY
	Rotation time.Duration // --rotate (0: never)
	// RotationSet is true when the rotation was given explicitly: it must
	// then agree with an epoch key file's.
	RotationSet bool
	Log         *slog.Logger // where a failure to move the key file forward is told; default slog.Default()
}

// LoadPseudonymizer builds the node's Pseudonymizer from a site key or an
// epoch key, from a file or the environment (never a flag value, which ps
// would show). An epoch key loaded from a file is moved forward in that
// file as epochs pass. Its errors never contain key material.
func LoadPseudonymizer(c KeyConfig) (*Pseudonymizer, error) {
	var data []byte
	src := "$" + EnvSiteKey
	switch {
	case c.File != "":
		var err error
		if data, err = os.ReadFile(c.File); err != nil {
			return nil, fmt.Errorf("sensor: key file: %w", err)
		}
		src = c.File
	case c.Env != "":
		data = []byte(c.Env)
	default:
		return nil, fmt.Errorf("sensor: no key: give --key-file FILE or set %s", EnvSiteKey)
	}
	ek, isEpoch, err := ParseEpochKeyFile(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src, err)
	}
	if !isEpoch {
		k, err := SiteKey(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", src, err)
		}
		return NewPseudonymizer(k, c.Rotation), nil
	}
	if c.RotationSet && c.Rotation != ek.Period {
		return nil, fmt.Errorf("sensor: %s holds a key for rotation %s, but --rotate is %s",
			src, FormatRotation(ek.Period), FormatRotation(c.Rotation))
	}
	p := NewEpochPseudonymizer(ek.Key, ek.Epoch, ek.Period)
	if c.File != "" {
		name, log := c.File, c.Log
		if log == nil {
			log = slog.Default()
		}
		p.OnRotate(func(e int64, key []byte) {
			// A node that cannot write its file keeps working, but says so:
			// the file still holds a past epoch's key.
			if err := WriteEpochKeyFile(name, EpochKeyFile{Epoch: e, Period: ek.Period, Key: key}); err != nil {
				log.Error("sensor: could not move the epoch key file forward; it still holds a past key", "epoch", e, "err", err)
			} else {
				log.Info("sensor: key epoch moved forward", "epoch", e, "file", name)
			}
		})
	}
	return p, nil
}

// EpochKeyAt derives the epoch key file for time t (Unix ms) from a site key.
func EpochKeyAt(siteKey []byte, period time.Duration, t int64) EpochKeyFile {
	e := Epoch(t, period)
	return EpochKeyFile{Epoch: e, Period: period, Key: EpochKey(siteKey, e)}
}
