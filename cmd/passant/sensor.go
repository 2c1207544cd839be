package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/passant/passant/sensor"
)

func init() {
	register(command{name: "sensor", summary: "sniffer node: 802.11 frames to observation batches over MQTT", run: runSensor})
}

// multiFlag collects a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func runSensor(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("sensor", stderr)
	var pcaps multiFlag
	fs.Var(&pcaps, "pcap", "read frames from this pcap or pcapng `file` (repeatable; files are merged in time order)")
	fast := fs.Bool("fast", false, "with --pcap: as fast as possible instead of at the recorded pace")
	iface := fs.String("iface", "", "capture live from this monitor-mode `interface` (Linux)")
	hop := fs.String("hop", "", "with --iface: hop over these `channels`, e.g. 1,6,11 (uses iw)")
	dwell := fs.Duration("dwell", 250*time.Millisecond, "with --hop: time on each channel")
	channel := fs.Int("channel", 0, "with --iface: tune to this channel first (uses iw)")
	data := fs.Bool("data", false, "also observe data and other management frames that client stations send")
	site := fs.String("site", "", "site id: the topic's <site>")
	sensorID := fs.String("sensor", "", "sensor id: the topic's <sensor> and the batches' sensor (default: host name)")
	keyFile := fs.String("key-file", "", "site key or epoch key `file` (else $"+sensor.EnvSiteKey+")")
	rotate := fs.String("rotate", "720h", "pseudonym key rotation period, or never")
	optOut := fs.String("opt-out", "", "`file` of MAC addresses whose frames are dropped")
	batch := fs.Duration("batch", time.Second, "batch interval")
	batchMax := fs.Int("batch-max", 10000, "observations per batch, at most")
	jsonl := fs.String("jsonl", "", "write batches to this `file` (- for stdout) instead of publishing")
	broker := fs.String("mqtt", "tcp://127.0.0.1:1883", "broker `URL` (tcp://, ssl://, ws://, wss://)")
	prefix := fs.String("prefix", "passant", "topic prefix")
	clientID := fs.String("client-id", "", "MQTT client id (default passant-<site>-<sensor>)")
	user := fs.String("username", "", "MQTT user name (the password comes from --password-file or $PASSANT_MQTT_PASSWORD)")
	passFile := fs.String("password-file", "", "`file` holding the MQTT password")
	caFile := fs.String("ca", "", "CA certificate `file` (PEM) for ssl:// brokers")
	certFile := fs.String("cert", "", "client certificate `file` (PEM)")
	certKey := fs.String("cert-key", "", "client certificate key `file` (PEM)")
	insecure := fs.Bool("insecure", false, "do not verify the broker's certificate")
	spoolDir := fs.String("spool", "", "`dir` where batches spill when the broker is away and memory is full")
	queueMB := fs.Int("queue-mb", 16, "memory for batches waiting for the broker, MiB")
	spoolMB := fs.Int("spool-mb", 512, "disk for batches waiting for the broker, MiB (with --spool)")
	statusEvery := fs.Duration("status-every", 30*time.Second, "how often the retained status is refreshed")
	drain := fs.Duration("drain", 30*time.Second, "at the end, how long to keep sending what is queued")
	clockTrusted := fs.Bool("clock-trusted", false, "trust the system clock to move an epoch key forward without asking the kernel (platforms without adjtimex; a clock known right)")
	tx := addTxFlags(fs)
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	logJSON := fs.Bool("log-json", false, "log as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := setupLog(stderr, *logLevel, *logJSON)
	if fs.NArg() > 0 {
		return fmt.Errorf("sensor: unexpected arguments %q", fs.Args())
	}
	if (len(pcaps) == 0) == (*iface == "") {
		return errors.New("sensor: give either --pcap FILE or --iface IFACE")
	}
	if *sensorID == "" {
		*sensorID = hostID()
	}
	period, err := sensor.ParseRotation(*rotate)
	if err != nil {
		return err
	}
	rotateSet := false
	fs.Visit(func(f *flag.Flag) { rotateSet = rotateSet || f.Name == "rotate" })
	pseudo, err := sensor.LoadPseudonymizer(sensor.KeyConfig{File: *keyFile, Env: os.Getenv(sensor.EnvSiteKey),
		Rotation: period, RotationSet: rotateSet, Log: log})
	if err != nil {
		return err
	}
	var clock sensor.Clock = sensor.SystemClock{}
	if *clockTrusted {
		clock = sensor.TrustedClock{}
	}
	if *iface != "" {
		warnStaleKey(log, pseudo, clock) // a live capture's frames are stamped by this clock
	}
	var opt sensor.OptOut
	if *optOut != "" {
		if opt, err = sensor.LoadOptOut(*optOut); err != nil {
			return err
		}
		log.Info("sensor: opt-out list loaded", "addresses", len(opt))
	}

	// The transmitter (before the node uses pseudo: it keeps copies).
	transmitter, stopTx, err := tx.start(ctx, *sensorID, pseudo, clock, &opt, log)
	if err != nil {
		return err
	}
	defer stopTx()

	// The source.
	var src sensor.Source
	boot := time.Now().UnixMilli()
	if len(pcaps) > 0 {
		fsrc, err := sensor.OpenFiles(pcaps, *fast)
		if err != nil {
			return err
		}
		src = fsrc
	} else {
		live, err := sensor.OpenLive(*iface)
		if err != nil {
			return err
		}
		src = live
		if *channel > 0 {
			if err := sensor.SetChannel(ctx, *iface, *channel); err != nil {
				live.Close()
				return err
			}
		}
	}
	defer src.Close()

	// The sink.
	var sink sensor.Sink
	var nodeRef atomic.Pointer[sensor.Node] // the status hook runs on the publisher's goroutines
	if *jsonl != "" {
		w, c := io.Writer(stdout), io.Closer(nil)
		if *jsonl != "-" {
			f, err := os.Create(*jsonl)
			if err != nil {
				return fmt.Errorf("sensor: %w", err)
			}
			w, c = f, f
		}
		sink = sensor.NewJSONLWriter(w, c, !*fast)
	} else {
		if *site == "" {
			return errors.New("sensor: --site is required to publish (or write batches with --jsonl)")
		}
		tlsConf, err := tlsConfig(*caFile, *certFile, *certKey, *insecure)
		if err != nil {
			return err
		}
		pass := os.Getenv("PASSANT_MQTT_PASSWORD")
		if *passFile != "" {
			b, err := os.ReadFile(*passFile)
			if err != nil {
				return fmt.Errorf("sensor: password file: %w", err)
			}
			pass = strings.TrimRight(string(b), "\r\n")
		}
		pub, err := sensor.NewPublisher(sensor.PublisherConfig{
			Broker: *broker, Prefix: *prefix, Site: *site, Sensor: *sensorID, ClientID: *clientID,
			Username: *user, Password: pass, TLS: tlsConf, Version: version, Started: boot,
			Spool:       sensor.SpoolConfig{MemBytes: int64(*queueMB) << 20, Dir: *spoolDir, DiskBytes: int64(*spoolMB) << 20},
			StatusEvery: *statusEvery, Log: log,
			Status: func(s *sensor.Status) {
				if node := nodeRef.Load(); node != nil {
					node.FillStatus(s)
				}
				if transmitter != nil {
					s.Tx = transmitter.Status(time.Now().UnixMilli())
				}
			},
		})
		if err != nil {
			return err
		}
		sink = pub
	}

	dopt := sensor.DecoderOptions{Data: *data, Channel: *channel}
	node, err := sensor.NewNode(sensor.NodeConfig{
		Sensor: *sensorID, Boot: boot, Interval: *batch, MaxObs: *batchMax, Decoder: dopt,
		Pseudo: pseudo, OptOut: opt, Clock: clock, Tick: !*fast, Progress: 10 * time.Second, Log: log,
	}, src, sink)
	if err != nil {
		sink.Close(context.Background())
		return err
	}
	nodeRef.Store(node)
	if *hop != "" {
		if *iface == "" {
			return errors.New("sensor: --hop needs --iface")
		}
		chs, err := sensor.ParseChannels(*hop)
		if err != nil {
			return err
		}
		h := &sensor.Hopper{Iface: *iface, Channels: chs, Dwell: *dwell, Log: log}
		hctx, stop := context.WithCancel(ctx)
		defer stop()
		herr := make(chan error, 1)
		go func() { herr <- h.Run(hctx) }()
		select {
		case err := <-herr:
			if err != nil {
				return err
			}
		case <-time.After(100 * time.Millisecond): // the first hop worked
		}
	}

	log.Info("sensor: running", "sensor", *sensorID, "site", *site, "key_rotation", sensor.FormatRotation(pseudo.Period()))
	runErr := node.Run(ctx)
	dctx, cancel := context.WithTimeout(context.Background(), *drain)
	defer cancel()
	closeErr := sink.Close(dctx)
	st := node.Stats()
	log.Info("sensor: done", "frames", st.Frames, "probes", st.Probes, "data", st.Data,
		"observations", st.Observations, "batches", st.Batches, "no_rssi", st.NoRSSI, "bad_fcs", st.BadFCS,
		"malformed", st.Malformed, "bad_rssi", st.BadRSSI, "opted_out", st.OptedOut, "past_epoch", st.PastEpoch, "future", st.Future, "beyond_key", st.BeyondKey)
	if pub, ok := sink.(*sensor.Publisher); ok {
		s := pub.Status("offline")
		log.Info("sensor: published", "observations", s.Published, "batches", s.Batches,
			"dropped", s.Dropped, "queued", s.Queued)
	}
	return errors.Join(runErr, closeErr)
}

// warnStaleKey tells, at start, of an epoch key that the node will not
// move forward: the clock is not trusted.
func warnStaleKey(log *slog.Logger, p *sensor.Pseudonymizer, clock sensor.Clock) {
	end := p.KeyEnd()
	if end == math.MaxInt64 || clock.Trusted() {
		return
	}
	log.Warn("sensor: the clock is not synchronised: the epoch key will not move past its epoch until it is "+
		"(or run with --clock-trusted)", "key_until", time.UnixMilli(end).UTC())
}

// hostID turns the host name into a valid sensor id.
func hostID() string {
	h, _ := os.Hostname()
	h, _, _ = strings.Cut(h, ".")
	var b strings.Builder
	for _, c := range h {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' {
			b.WriteRune(c)
		}
	}
	if b.Len() == 0 || b.Len() > 64 {
		return "sensor"
	}
	return b.String()
}

func tlsConfig(ca, cert, key string, insecure bool) (*tls.Config, error) {
	if ca == "" && cert == "" && !insecure {
		return nil, nil
	}
	c := &tls.Config{InsecureSkipVerify: insecure, MinVersion: tls.VersionTLS12}
	if ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, fmt.Errorf("sensor: CA file: %w", err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("sensor: CA file %s: no PEM certificate in it", ca)
		}
	}
	if cert != "" {
		kp, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return nil, fmt.Errorf("sensor: client certificate: %w", err)
		}
		c.Certificates = []tls.Certificate{kp}
	}
	return c, nil
}
