package sensor

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"
)

type vectorFile struct {
	Pseudonyms []struct {
		KeyFileHex  string `json:"key_file_hex"`
		SiteKeyHex  string `json:"site_key_hex"`
		Rotation    string `json:"rotation"`
		T           int64  `json:"t"`
		Epoch       int64  `json:"epoch"`
		EpochKeyHex string `json:"epoch_key_hex"`
		Devs        []struct {
			MAC string `json:"mac"`
			Dev string `json:"dev"`
		} `json:"devs"`
	} `json:"pseudonyms"`
	Fingerprints []struct {
		Name   string `json:"name"`
		IEsHex string `json:"ies_hex"`
		FP     string `json:"fp"`
	} `json:"fingerprints"`
}

func loadVectors(t *testing.T) vectorFile {
	t.Helper()
	data, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectorFile
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Pseudonyms) == 0 || len(v.Fingerprints) == 0 {
		t.Fatal("vectors.json holds no vectors")
	}
	return v
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPseudonymVectors checks the Go pseudonyms against vectors.json, made
// by an independent Python implementation of the contract: from the site
// key, and from the epoch key alone (as a node given `passant key` does).
func TestPseudonymVectors(t *testing.T) {
	for i, v := range loadVectors(t).Pseudonyms {
		site, err := SiteKey(unhex(t, v.KeyFileHex))
		if err != nil || hex.EncodeToString(site) != v.SiteKeyHex {
			t.Fatalf("vector %d: site key %x, %v; want %s", i, site, err, v.SiteKeyHex)
		}
		period, err := ParseRotation(v.Rotation)
		if err != nil {
			t.Fatal(err)
		}
		if e := Epoch(v.T, period); e != v.Epoch {
			t.Fatalf("vector %d: epoch %d, want %d", i, e, v.Epoch)
		}
		ek := EpochKeyAt(site, period, v.T)
		if hex.EncodeToString(ek.Key) != v.EpochKeyHex {
			t.Fatalf("vector %d: epoch key %x, want %s", i, ek.Key, v.EpochKeyHex)
		}
		fromSite := NewPseudonymizer(site, period)
		fromEpoch := NewEpochPseudonymizer(ek.Key, ek.Epoch, period)
		for _, d := range v.Devs {
			mac, err := ParseMAC(d.MAC)
			if err != nil {
				t.Fatal(err)
			}
			for name, p := range map[string]*Pseudonymizer{"site key": fromSite, "epoch key": fromEpoch} {
				got, err := p.Dev(mac, v.T)
				if err != nil || got.String() != d.Dev {
					t.Errorf("vector %d, %s, mac %d: dev %s, %v; want %s", i, name, mac[5], got, err, d.Dev)
				}
			}
			if got := DevOf(site, period, mac, v.T); got.String() != d.Dev {
				t.Errorf("vector %d: DevOf %s, want %s", i, got, d.Dev)
			}
		}
	}
}

func TestFingerprintVectors(t *testing.T) {
	var c fpCache
	for _, v := range loadVectors(t).Fingerprints {
		ies := unhex(t, v.IEsHex)
		fp, ok := Fingerprint(ies)
		got := ""
		if ok {
			got = hex.EncodeToString(fp[:])
		}
		if got != v.FP {
			t.Errorf("%s: fp %q, want %q", v.Name, got, v.FP)
		}
		for range 2 { // the cache, cold and warm
			if g := c.get(ies); g != v.FP {
				t.Errorf("%s: cached fp %q, want %q", v.Name, g, v.FP)
			}
		}
	}
}

// TestEpochKeyFileMovesForward: a node holding only an epoch key computes
// the next epoch's pseudonyms, overwrites its key file with the next key,
// and then refuses times of the past epoch.
func TestEpochKeyFileMovesForward(t *testing.T) {
	site := []byte("correct horse battery staple")
	period, _ := ParseRotation("1h")
	const hour = 3600_000
	t0 := int64(1000*hour + 5)
	name := t.TempDir() + "/epoch.key"
	if err := WriteEpochKeyFile(name, EpochKeyAt(site, period, t0)); err != nil {
		t.Fatal(err)
	}
	p, err := LoadPseudonymizer(KeyConfig{File: name, Rotation: period})
	if err != nil {
		t.Fatal(err)
	}
	mac := MAC{0x3c, 0x22, 0xfb, 0x12, 0x34, 0x56}
	for _, tt := range []int64{t0, t0 + hour, t0 + 3*hour} {
		got, err := p.Dev(mac, tt)
		if want := DevOf(site, period, mac, tt); err != nil || got != want {
			t.Fatalf("t=%d: dev %s, %v; want %s", tt, got, err, want)
		}
	}
	data, _ := os.ReadFile(name)
	k, ok, err := ParseEpochKeyFile(data)
	if !ok || err != nil || k.Epoch != 1003 || hex.EncodeToString(k.Key) != hex.EncodeToString(EpochKey(site, 1003)) {
		t.Fatalf("key file after rotation: epoch %d, %v, %v", k.Epoch, ok, err)
	}
	if _, err := p.Dev(mac, t0); err == nil {
		t.Fatal("a node with a later epoch key computed a past pseudonym")
	}
	if _, err := LoadPseudonymizer(KeyConfig{File: name, Rotation: 720 * period, RotationSet: true}); err == nil {
		t.Fatal("an epoch key file for 1h rotation loaded with --rotate 720h")
	}
}
