package web

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

// publishNs is the ns/op of BenchmarkFanout with no clients, for the ratio.
var publishNs float64

// BenchmarkFanout measures what the live stream costs ingest: the rate at
// which the pipeline can publish fixes (Feed.Publish, 500 tracks moving)
// with no WebSocket client and with 200 clients reading one site, and the
// heap after the run. With 200 clients it reports "ratio" = ns/op with
// clients / ns/op without (1 = no cost), "drops/op" (events the hub's
// bounded subscription refused) and "heapMB".
func BenchmarkFanout(b *testing.B) {
	for _, n := range []int{0, 1, 200} {
		b.Run(fmt.Sprintf("clients=%d", n), func(b *testing.B) {
			mb := newDemoBackend()
			srv := newTestServer(b, mb, Config{})
			hub := srv.Config.Handler.(*Server).Hub()
			received := make(chan int, n)
			for range n {
				c := dialWS(b, srv, "demo")
				go func() {
					msgs := 0
					for {
						if _, _, err := c.ReadMessage(); err != nil {
							received <- msgs
							return
						}
						msgs++
					}
				}()
				defer c.Close()
			}
			waitFor(b, "clients", func() bool { return hub.Clients() == int64(n) })
			runtime.GC()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			b.ReportAllocs()
			t := int64(0)
			start := time.Now()
			for b.Loop() {
				p := fix(trackNames[t%500], t, float64(t%30), float64(t%20))
				mb.Feed.Publish("demo", Event{Position: &p})
				t++
			}
			elapsed := time.Since(start)
			nsop := float64(elapsed.Nanoseconds()) / float64(t)
			runtime.GC()
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(after.HeapInuse)/(1<<20), "heapMB")
			b.ReportMetric(float64(mb.Dropped())/float64(t), "drops/op")
			if n == 0 {
				publishNs = nsop
			} else if publishNs > 0 {
				b.ReportMetric(nsop/publishNs, "ratio")
				b.Logf("publish %.0f ns/fix with %d clients vs %.0f with none: ratio %.2f; heap %.1f -> %.1f MB; %d slow clients dropped",
					nsop, n, publishNs, nsop/publishNs, float64(before.HeapInuse)/(1<<20), float64(after.HeapInuse)/(1<<20), hub.Kicked())
			}
		})
	}
}

var trackNames = func() []string {
	s := make([]string, 500)
	for i := range s {
		s[i] = fmt.Sprintf("k%d", i)
	}
	return s
}()

// BenchmarkFanoutPaced publishes at a steady 20,000 fixes a second (bursts
// of 100 every 5 ms, 500 tracks) to one site with 0 and with 200 WebSocket
// clients: "publish-ns/fix" is what a fix costs the publisher, "drops/fix"
// what the hub's bounded queue refused (0: every fix reached the updates),
// "ratio" the cost with 200 clients over the cost with none.
func BenchmarkFanoutPaced(b *testing.B) {
	var base float64
	for _, n := range []int{0, 200} {
		b.Run(fmt.Sprintf("clients=%d", n), func(b *testing.B) {
			mb := newDemoBackend()
			srv := newTestServer(b, mb, Config{})
			hub := srv.Config.Handler.(*Server).Hub()
			for range n {
				c := dialWS(b, srv, "demo")
				go func() {
					for {
						if _, _, err := c.ReadMessage(); err != nil {
							return
						}
					}
				}()
				defer c.Close()
			}
			waitFor(b, "clients", func() bool { return hub.Clients() == int64(n) })
			var spent time.Duration
			t := int64(0)
			for b.Loop() {
				start := time.Now()
				for range 100 {
					p := fix(trackNames[t%500], t, float64(t%30), float64(t%20))
					mb.Feed.Publish("demo", Event{Position: &p})
					t++
				}
				spent += time.Since(start)
				time.Sleep(5 * time.Millisecond)
			}
			ns := float64(spent.Nanoseconds()) / float64(t)
			b.ReportMetric(ns, "publish-ns/fix")
			b.ReportMetric(float64(mb.Dropped())/float64(t), "drops/fix")
			b.ReportMetric(float64(hub.Kicked()), "clients-dropped")
			if n == 0 {
				base = ns
			} else if base > 0 {
				b.ReportMetric(ns/base, "ratio")
			}
		})
	}
}
