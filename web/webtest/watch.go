package webtest

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Problem is something that went wrong in a page: where it was (the screen,
// the route and the step, as Watch.At last said), what kind of thing, and
// its message.
type Problem struct {
	Where string
	Kind  string // "exception", "console.error", "log", "request", "http", "loading", "shown", "interaction"
	Msg   string
}

func (p Problem) String() string { return fmt.Sprintf("%s: %s: %s", p.Where, p.Kind, p.Msg) }

// Watch records the problems of a tab: uncaught exceptions and unhandled
// promise rejections (Runtime.exceptionThrown), console.error calls, browser
// log entries of level error (a failed resource load is one: "the server
// responded with a status of 404"), requests that failed (not those the page
// cancelled, nor WebSockets, whose closing is no failure) and answers 5xx.
// It also counts the requests in flight, so that a test can wait for a page
// to be quiet.
type Watch struct {
	mu       sync.Mutex
	where    string
	problems []Problem
	urls     map[network.RequestID]string
	inflight map[network.RequestID]bool
}

// NewWatch starts watching the tab of ctx (from Browser). Only what happens
// after it returns is seen.
func NewWatch(ctx context.Context) (*Watch, error) {
	w := &Watch{urls: map[network.RequestID]string{}, inflight: map[network.RequestID]bool{}}
	if err := chromedp.Listen(ctx, w.event); err != nil {
		return nil, fmt.Errorf("webtest: watch the tab: %w", err)
	}
	return w, nil
}

// At says where the tab is now; problems from here on carry it.
func (w *Watch) At(where string) {
	w.mu.Lock()
	w.where = where
	w.mu.Unlock()
}

// Add records a problem that the test found itself (a page left loading).
func (w *Watch) Add(kind, msg string) {
	w.mu.Lock()
	w.problems = append(w.problems, Problem{Where: w.where, Kind: kind, Msg: msg})
	w.mu.Unlock()
}

// Problems returns the problems recorded from the n-th on.
func (w *Watch) Problems(n int) []Problem {
	w.mu.Lock()
	defer w.mu.Unlock()
	if n >= len(w.problems) {
		return nil
	}
	return append([]Problem(nil), w.problems[n:]...)
}

// Count is how many problems were recorded so far.
func (w *Watch) Count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.problems)
}

// InFlight lists the requests (not WebSockets) sent and not yet answered
// in full or failed.
func (w *Watch) InFlight() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for id := range w.inflight {
		out = append(out, w.urls[id])
	}
	return out
}

// event runs in chromedp's reading loop: it must be quick and not call
// the browser.
func (w *Watch) event(ev any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	add := func(kind, msg string) { w.problems = append(w.problems, Problem{Where: w.where, Kind: kind, Msg: msg}) }
	switch e := ev.(type) {
	case *runtime.EventExceptionThrown:
		add("exception", exceptionText(e.ExceptionDetails))
	case *runtime.EventConsoleAPICalled:
		if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeAssert {
			add("console."+string(e.Type), argsText(e.Args)+stackPlace(e.StackTrace))
		}
	case *log.EventEntryAdded:
		if e.Entry.Level == log.EntryLevelError {
			add("log", fmt.Sprintf("%s (%s) %s", e.Entry.Text, e.Entry.Source, e.Entry.URL))
		}
	case *network.EventRequestWillBeSent:
		if e.Request != nil && !strings.HasPrefix(e.Request.URL, "data:") && !strings.HasPrefix(e.Request.URL, "blob:") {
			w.urls[e.RequestID] = e.Request.Method + " " + e.Request.URL
			w.inflight[e.RequestID] = true
		}
	case *network.EventResponseReceived:
		if e.Response != nil && e.Response.Status >= 500 {
			add("http", fmt.Sprintf("%d %s: %s", e.Response.Status, e.Response.StatusText, w.urls[e.RequestID]))
		}
	case *network.EventLoadingFinished:
		delete(w.inflight, e.RequestID)
		delete(w.urls, e.RequestID)
	case *network.EventLoadingFailed:
		if !e.Canceled && e.Type != network.ResourceTypeWebSocket && e.ErrorText != "net::ERR_ABORTED" {
			add("request", fmt.Sprintf("%s %s%s", e.ErrorText, w.urls[e.RequestID], blocked(e)))
		}
		delete(w.inflight, e.RequestID)
		delete(w.urls, e.RequestID)
	}
}

func blocked(e *network.EventLoadingFailed) string {
	if e.BlockedReason != "" {
		return " (blocked: " + string(e.BlockedReason) + ")"
	}
	return ""
}

// exceptionText is what DevTools shows for an uncaught exception: "Uncaught
// TypeError: x is undefined" and where.
func exceptionText(d *runtime.ExceptionDetails) string {
	if d == nil {
		return "(no details)"
	}
	msg := d.Text
	if d.Exception != nil {
		if s := remoteText(d.Exception); s != "" {
			// The description is the error and its stack: keep the error
			// and the first frames.
			lines := strings.Split(s, "\n")
			if len(lines) > 4 {
				lines = lines[:4]
			}
			msg += " " + strings.Join(lines, " | ")
		}
	}
	place := stackPlace(d.StackTrace)
	if place == "" && d.URL != "" {
		place = fmt.Sprintf(" at %s:%d", d.URL, d.LineNumber+1)
	}
	return msg + place
}

func stackPlace(st *runtime.StackTrace) string {
	if st == nil || len(st.CallFrames) == 0 {
		return ""
	}
	f := st.CallFrames[0]
	return fmt.Sprintf(" at %s:%d", f.URL, f.LineNumber+1)
}

func argsText(args []*runtime.RemoteObject) string {
	var parts []string
	for _, a := range args {
		parts = append(parts, remoteText(a))
	}
	return strings.Join(parts, " ")
}

// remoteText is a console argument as text: a string as it is, another
// value by its description or JSON.
func remoteText(o *runtime.RemoteObject) string {
	if o == nil {
		return ""
	}
	if len(o.Value) > 0 {
		v := string(o.Value)
		if s, err := strconv.Unquote(v); err == nil {
			return s
		}
		return v
	}
	if o.Description != "" {
		return o.Description
	}
	if o.UnserializableValue != "" {
		return string(o.UnserializableValue)
	}
	return string(o.Type)
}
