package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"time"

	"github.com/passant/passant/sensor"
)

// txFlags are the sensor's transmit-mode flags (self-calibration).
type txFlags struct {
	iface *string
	every *time.Duration
	mac   *string
}

func addTxFlags(fs *flag.FlagSet) txFlags {
	return txFlags{
		iface: fs.String("transmit", "", "also send probe requests on this monitor-mode `interface` (may be the capture one; "+
			"the driver must allow injection), so the other sensors can calibrate against this one"),
		every: fs.Duration("tx-every", sensor.DefaultTxEvery, "with --transmit: interval between probe requests"),
		mac: fs.String("tx-mac", "", "with --transmit: the `address` to send from (default: a locally administered "+
			"address derived from the sensor id); it is never logged or published, only its pseudonym"),
	}
}

// startTransmit opens the transmit interface and starts the Transmitter
// (nil without --transmit). The transmit address is added to opt, so the
// node never reports its own frames. stop waits for the Transmitter to end.
func (f txFlags) start(ctx context.Context, sensorID string, pseudo *sensor.Pseudonymizer, clock sensor.Clock, opt *sensor.OptOut,
	log *slog.Logger) (tr *sensor.Transmitter, stop func(), err error) {
	if *f.iface == "" {
		if *f.mac != "" {
			return nil, nil, errors.New("sensor: --tx-mac needs --transmit")
		}
		return nil, func() {}, nil
	}
	mac := sensor.TxMAC(sensorID)
	if *f.mac != "" {
		if mac, err = sensor.ParseMAC(*f.mac); err != nil {
			return nil, nil, errors.New("sensor: --tx-mac: " + err.Error())
		}
	}
	inj, err := sensor.OpenInjector(*f.iface)
	if err != nil {
		return nil, nil, err
	}
	tr, err = sensor.NewTransmitter(sensor.TransmitConfig{MAC: mac, Every: *f.every, Pseudo: pseudo, Clock: clock, Log: log}, inj)
	if err != nil {
		inj.Close()
		return nil, nil, err
	}
	if *opt == nil {
		*opt = sensor.OptOut{}
	}
	(*opt)[mac] = struct{}{}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- tr.Run(ctx) }()
	select {
	case err := <-done: // the first frame could not be sent
		cancel()
		inj.Close()
		return nil, nil, err
	case <-time.After(200 * time.Millisecond):
	}
	stop = func() {
		cancel()
		if err := <-done; err != nil {
			log.Warn("sensor: transmitter", "err", err)
		}
		inj.Close()
		sent, failed := tr.Sent()
		log.Info("sensor: transmitted", "probes", sent, "failed", failed)
	}
	return tr, stop, nil
}
