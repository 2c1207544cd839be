package demo

import (
	"context"
	"testing"
	"time"
)

// TestLiveShopKeepsRealTime: once its warm-up has caught up, the live shop
// plays in real time: the server's event time never runs ahead of the wall
// clock. Before, each batch went out at the earlier of its own time and
// the warm-up's pace, so the warm-up went out unpaced and the shop then
// ran on at ten times real time for good: after a minute the live map
// showed fixes from ten minutes ahead, and in an hour the shop had played
// the next ten (the pipeline's lag on the dashboard went ever more negative).
func TestLiveShopKeepsRealTime(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	warmup := 20 * time.Second
	base, done := startDemo(t, ctx, Config{DataDir: t.TempDir(), Seed: 11, Warmup: warmup, AlwaysOpen: true})
	// The warm-up (20 s of the shop at ten times real time: 2 s) is over
	// well within the first 10 s; watch the event time for 15 s more.
	start := time.Now()
	seen, ahead := false, 0.0
	for time.Since(start) < 25*time.Second {
		time.Sleep(500 * time.Millisecond)
		lag, ok := lagSeconds(base)
		if !ok {
			continue
		}
		seen = true
		if -lag > ahead {
			ahead = -lag
		}
	}
	if !seen {
		t.Fatal("no passant_lag_seconds for the site in 25 s")
	}
	// The pipeline holds back its lateness window (2 s) behind the newest
	// batch, so in real time its lag is a few seconds; a second ahead of the
	// wall clock is the most that clocks in step allow.
	if ahead > 1 {
		t.Fatalf("the server's event time ran %.1f s ahead of the wall clock", ahead)
	}
	t.Logf("event time at most %.1f s ahead of the wall clock", ahead)
	cancel()
	if err := <-done; err != nil && err != context.Canceled {
		t.Fatal(err)
	}
}
