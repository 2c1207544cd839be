package server

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/passant/passant/store"
)

// pngClaiming returns a small grey PNG whose header claims w x h pixels:
// a decompression bomb's header (a real bomb's pixels are deflated zeros,
// some 1,000 to 1 smaller than they decode).
func pngClaiming(t *testing.T, w, h uint32) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 1, 1))); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	// signature (8), IHDR length (4), "IHDR" (4), width, height, ...
	binary.BigEndian.PutUint32(b[16:], w)
	binary.BigEndian.PutUint32(b[20:], h)
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	return b
}

// TestPlanBombRefused: a floor plan is drawn under the heatmap PNG (any
// viewer may ask for it) and the calibration's accuracy map by decoding it
// on the server, and Go's image decoders allocate the whole picture the
// header claims before reading a pixel. An installer's upload of a few
// hundred bytes claiming 16,000 x 16,000 pixels was stored, and every
// heatmap.png then cost the server 256 MB (60,000 x 60,000: 3.6 GB, the
// process killed). Uploads over the plan limits are refused (413), and a
// plan stored before them is not decoded.
func TestPlanBombRefused(t *testing.T) {
	dir := t.TempDir()
	site := filepath.Join(dir, "shop.json")
	js := `{"site":"shop","bounds":[[-2,-8],[22,17]],"plan":{"image":"","bounds":[[0,0],[20,15]]},
	 "sensors":[{"id":"a","x":0,"y":0,"z":2.5},{"id":"b","x":20,"y":0,"z":2.5},{"id":"c","x":20,"y":15,"z":2.5}],
	 "zones":[{"id":"store","kind":"store","polygon":[[0,0],[20,0],[20,15],[0,15]]}]}`
	if err := os.WriteFile(site, []byte(js), 0o644); err != nil {
		t.Fatal(err)
	}
	in := startInstance(t, Config{HTTP: "127.0.0.1:0", BrokerAddr: "127.0.0.1:0", SiteFiles: []string{site}, DataDir: dir,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	defer in.stop()
	base := "http://" + in.srv.HTTPAddr() + "/api/sites/shop/"
	put := func(body []byte) (int, string) {
		req, _ := http.NewRequest("PUT", base+"plan", bytes.NewReader(body))
		req.Header.Set("Content-Type", "image/png")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		msg, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(msg)
	}
	bomb := pngClaiming(t, 16000, 16000)
	if code, msg := put(bomb); code != http.StatusRequestEntityTooLarge {
		t.Errorf("a %d-byte PNG claiming 16000 x 16000 pixels: %d %s, want 413", len(bomb), code, msg)
	}
	if code, msg := put(pngClaiming(t, 4000, 3000)); code != 200 {
		t.Errorf("a plan of 4000 x 3000: %d %s, want 200", code, msg)
	}
	// A bomb stored before the limit (or written to the store by other
	// means) is not decoded: the heatmap is drawn without it.
	if err := in.srv.store.PutPlanImage(context.Background(), "shop", store.PlanImage{ContentType: "image/png", Data: bomb}); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	res, err := http.Get(base + "heatmap.png")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	runtime.ReadMemStats(&after)
	if res.StatusCode != 200 {
		t.Errorf("heatmap.png over a stored bomb: %d", res.StatusCode)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 128<<20 {
		t.Errorf("heatmap.png over a plan claiming 16000 x 16000 pixels allocated %d MB", grew>>20)
	}
}
