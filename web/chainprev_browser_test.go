package web

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/passant/passant/web/webtest"
)

// TestBrowserChainNobodyAWeekBefore: a shop with no visitors on the same
// weekday a week before (its sensors went in since, or it was closed)
// says so in the chain's column and its Visitors tile, instead of "– vs 0",
// as the footfall page's tiles do since 2026-12-06.
func TestBrowserChainNobodyAWeekBefore(t *testing.T) {
	b := newDemoBackend()
	b.since = time.Now().UnixMilli()
	srv, ctx := browserServer(t, b)
	c := within(t, ctx, 30*time.Second)
	err := chromedp.Do(c, chromedp.Navigate(srv.URL+"/#/chain"), chromedp.WaitVisible(chromedp.CSS(`main[data-chain="ready"]`)))
	if err != nil {
		t.Fatal(err)
	}
	got, err := webtest.Eval[[]string](c, `[document.querySelector('#chain-table tr[data-site] td.vs-prev')?.textContent ?? 'no cell',
		document.querySelector('#chain-visitors-change')?.textContent ?? 'no line']`)
	if err != nil {
		t.Fatal(err)
	}
	if got[0] != "none a week before" || got[1] != "none a week before" {
		t.Errorf("the site's change %q, the chain's %q; want \"none a week before\"", got[0], got[1])
	}
}
