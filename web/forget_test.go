package web

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/passant/passant/wire"
)

// POST /api/sites/{site}/forget hands the pseudonyms to the backend and
// answers what it erased; a body without pseudonyms, with a malformed one,
// or for an unknown site is refused before the backend sees it.
func TestForget(t *testing.T) {
	b := newDemoBackend()
	srv := newTestServer(t, b, Config{})
	res, body := do(t, "POST", srv.URL+"/api/sites/demo/forget", "application/json", []byte(`{"devs":["3f9a0c1d2e4b5a69","0000000000000001"]}`))
	var f Forgotten
	if res.StatusCode != 200 || json.Unmarshal(body, &f) != nil || f.Site != "demo" || f.Devs != 2 {
		t.Fatalf("forget: %d %s", res.StatusCode, body)
	}
	if len(b.forgot) != 2 || b.forgot[0] != wire.Dev(0x3f9a0c1d2e4b5a69) || b.forgot[1] != 1 {
		t.Fatalf("the backend got %v", b.forgot)
	}
	for _, c := range []struct {
		path, body string
		status     int
	}{
		{"/api/sites/demo/forget", `{"devs":[]}`, 400},
		{"/api/sites/demo/forget", `{"devs":["3f9a0c1d2e4b5a6"]}`, 400},   // 15 digits
		{"/api/sites/demo/forget", `{"devs":["aa:bb:cc:dd:ee:ff"]}`, 400}, // a MAC is no pseudonym
		{"/api/sites/demo/forget", `not json`, 400},
		{"/api/sites/nowhere/forget", `{"devs":["3f9a0c1d2e4b5a69"]}`, 404},
	} {
		res, body := do(t, "POST", srv.URL+c.path, "application/json", []byte(c.body))
		if res.StatusCode != c.status {
			t.Errorf("%s %s: %d %s, want %d", c.path, c.body, res.StatusCode, body, c.status)
		}
		if strings.Contains(string(body), "aa:bb") {
			t.Errorf("the answer repeats the input: %s", body)
		}
	}
	if len(b.forgot) != 2 {
		t.Fatalf("refused requests reached the backend: %v", b.forgot)
	}
}
