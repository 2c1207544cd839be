//go:build !sensoronly

package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/passant/passant/calibration"
	"github.com/passant/passant/demo"
	"github.com/passant/passant/server"
)

func init() {
	register(command{name: "serve", summary: "the server: MQTT ingest, pipelines, storage, dashboard and API", run: runServe})
	register(command{name: "demo", summary: "everything on embedded defaults with a simulated shop: open http://localhost:8080", run: runDemo})
}

// siteFiles is a repeatable --site flag.
type siteFiles []string

func (s *siteFiles) String() string     { return strings.Join(*s, ",") }
func (s *siteFiles) Set(v string) error { *s = append(*s, v); return nil }

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", stderr)
	var cfg server.Config
	var sites siteFiles
	fs.StringVar(&cfg.HTTP, "http", ":8080", "where the dashboard, the API and the WebSocket listen")
	fs.StringVar(&cfg.MQTT, "mqtt", "", "the broker to subscribe to (tcp://, ssl://); none: the embedded broker")
	fs.StringVar(&cfg.BrokerAddr, "broker", ":1883", "where the embedded broker listens when there is no --mqtt")
	fs.Var(&sites, "site", "load (or update) a site from a file at start; repeatable")
	fs.StringVar(&cfg.DB, "db", "", "postgres://... for PostgreSQL; none: the embedded store in --data")
	fs.StringVar(&cfg.DataDir, "data", "passant-data", "data directory: embedded store and journal")
	fs.StringVar(&cfg.Prefix, "prefix", "passant", "MQTT topic prefix")
	fs.StringVar(&cfg.ClientID, "client-id", "", "MQTT client id (default passant-server-<hostname>)")
	fs.StringVar(&cfg.MQTTUser, "mqtt-user", "", "MQTT user name (password from $PASSANT_MQTT_PASSWORD)")
	fs.BoolVar(&cfg.Auth, "auth", true, "require logins for the dashboard and API")
	fs.BoolVar(&cfg.Migrate, "migrate", false, "apply pending database migrations at start")
	fs.DurationVar(&cfg.Lateness, "lateness", 0, "how long observations wait to be put in order (default 2s)")
	fs.DurationVar(&cfg.Retention, "retention", 24*time.Hour, "keep raw observations of devices that never became visitors this long")
	fs.BoolVar(&cfg.Cluster, "cluster", false, "share the sites with other servers of the same database by leases")
	fs.StringVar(&cfg.Instance, "instance", "", "this server's name in a cluster (default host-pid)")
	fs.DurationVar(&cfg.LeaseTTL, "lease", 30*time.Second, "how long a site's lease lasts without renewal (cluster)")
	fs.StringVar(&cfg.BrokerUsers, "broker-users", "", "the embedded broker's logins (JSON file): sensors must log in and may publish only under their own topics")
	tlsCert := fs.String("broker-tls-cert", "", "certificate (PEM) for the embedded broker to speak TLS")
	tlsKey := fs.String("broker-tls-key", "", "its private key (PEM)")
	fs.StringVar(&cfg.AlertWebhook, "alert-webhook", "", "POST every alert raised or cleared to this URL (JSON)")
	fs.DurationVar(&cfg.AlertSilent, "alert-silent", 5*time.Minute, "a sensor silent this long raises an alert")
	var anchorFiles siteFiles
	fs.Var(&anchorFiles, "anchors", "fixed transmitters at known positions for self-calibration, `[SITE=]FILE` "+
		"(the anchors file of calibrate --anchors; without SITE= for every site); repeatable. "+
		"Sensors that transmit (sensor --transmit) are anchors without it")
	fs.DurationVar(&cfg.SelfWindow, "self-window", 24*time.Hour, "how far back self-calibration looks at each hourly refit")
	historyMB := fs.Int("report-history-mb", 256, "memory (MiB) for the reports' history kept between requests (the chain's and today's figures); 0 keeps none")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	logJSON := fs.Bool("log-json", false, "log as JSON lines")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg.SiteFiles = sites
	cfg.PastCache = *historyMB << 20
	if *historyMB <= 0 {
		cfg.PastCache = -1
	}
	var err error
	if cfg.Anchors, err = loadAnchorFiles(anchorFiles); err != nil {
		return err
	}
	if *tlsCert != "" || *tlsKey != "" {
		cert, err := tls.LoadX509KeyPair(*tlsCert, *tlsKey)
		if err != nil {
			return fmt.Errorf("serve: --broker-tls-cert/--broker-tls-key: %w", err)
		}
		cfg.BrokerTLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	cfg.MQTTPass = os.Getenv("PASSANT_MQTT_PASSWORD")
	cfg.Version = version
	cfg.Log = setupLog(stderr, *logLevel, *logJSON)
	srv, err := server.New(cfg)
	if err != nil {
		return err
	}
	return srv.Run(ctx)
}

// loadAnchorFiles reads --anchors [SITE=]FILE values into anchors per site
// ("" for every site).
func loadAnchorFiles(vals []string) (map[string][]calibration.Anchor, error) {
	out := map[string][]calibration.Anchor{}
	for _, v := range vals {
		site, path, ok := strings.Cut(v, "=")
		if !ok {
			site, path = "", v
		}
		as, err := calibration.LoadAnchors(path)
		if err != nil {
			return nil, fmt.Errorf("serve: --anchors %s: %w", v, err)
		}
		out[site] = append(out[site], as...)
	}
	return out, nil
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("demo", stderr)
	var cfg demo.Config
	fs.StringVar(&cfg.HTTP, "http", ":8080", "where the dashboard listens")
	fs.StringVar(&cfg.BrokerAddr, "broker", ":1883", "where the embedded broker listens (a free port when taken)")
	fs.StringVar(&cfg.Layout, "layout", "", "simulated shop layout (see passant sim --list)")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "simulation seed")
	fs.StringVar(&cfg.DataDir, "data", "", "keep the demo's data here (default: a temporary directory)")
	fs.IntVar(&cfg.History, "history", 7, "days before today the simulated shop plays first, then today's opening hours before the warm-up (0: none)")
	fs.BoolVar(&cfg.AlwaysOpen, "always-open", false, "the live shop has shoppers at any hour, not only in the site's opening hours")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg.Log = setupLog(stderr, *logLevel, false)
	cfg.Ready = func(url string) { fmt.Fprintf(stdout, "Passant demo: open %s\n", url) }
	err := demo.Run(ctx, cfg)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
