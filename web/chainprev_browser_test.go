package web

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/passant/passant/web/webtest"
	"github.com/passant/passant/wire"
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

// TestBrowserChainTotalLeavesNewShopsOut: the chain's Visitors tile
// compares the visitors of the sites that have a comparison only; a shop
// with nobody counted a week before ("none a week before" in its row: its
// sensors went in since) is left out of it. Before, its visitors were
// added to today's side and nothing to the week before's, so a chain of
// one steady shop and one new one showed "+100 %" while its one
// comparable shop was unchanged.
func TestBrowserChainTotalLeavesNewShopsOut(t *testing.T) {
	b := newDemoBackend()
	// The demo shop's report is the same every day: unchanged on a week before.
	b.reports["demo"] = syntheticReport("demo", 0, 24*3600_000)
	s, err := wire.ParseSite([]byte(strings.Replace(demoSiteJSON, `"site":"demo"`, `"site":"new"`, 1)), false)
	if err != nil {
		t.Fatal(err)
	}
	b.put(s, "file", "")
	b.sinceSite = map[string]int64{"new": time.Now().UnixMilli()}
	srv, ctx := browserServer(t, b)
	c := within(t, ctx, 30*time.Second)
	err = chromedp.Do(c, chromedp.Navigate(srv.URL+"/#/chain"), chromedp.WaitVisible(chromedp.CSS(`main[data-chain="ready"]`)))
	if err != nil {
		t.Fatal(err)
	}
	got, err := webtest.Eval[[]string](c, `[document.querySelector('#chain-table tr[data-site="demo"] td.vs-prev')?.textContent ?? 'no cell',
		document.querySelector('#chain-table tr[data-site="new"] td.vs-prev')?.textContent ?? 'no cell',
		document.querySelector('#chain-visitors-change')?.textContent ?? 'no line']`)
	if err != nil {
		t.Fatal(err)
	}
	if got[1] != "none a week before" || got[2] != got[0] {
		t.Errorf("demo's change %q, the new shop's %q, the chain's %q; want the chain's as demo's", got[0], got[1], got[2])
	}
}
