package server

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"

	"github.com/passant/passant/broker"
	"github.com/passant/passant/wire"
)

// BrokerUser is one login of the embedded broker, from the file given with
// --broker-users:
//
//	{"users":[{"user":"shop1-s1","password_sha256":"<hex>","site":"shop1","sensor":"s1"},
//	          {"user":"ops","password_sha256":"<hex>","server":true}]}
//
// A sensor may publish only to <prefix>/<site>/<sensor>/obs and /status; a
// server user may subscribe to everything. Passwords are random tokens
// (`openssl rand -hex 16`), so a plain SHA-256 of them is stored.
type BrokerUser struct {
	User     string `json:"user"`
	Password string `json:"password_sha256"`
	Site     string `json:"site,omitempty"`
	Sensor   string `json:"sensor,omitempty"`
	Server   bool   `json:"server,omitempty"`
}

// LoadBrokerUsers reads a --broker-users file.
func LoadBrokerUsers(path string) ([]BrokerUser, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("server: broker users: %w", err)
	}
	var f struct {
		Users []BrokerUser `json:"users"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("server: broker users %s: %w", path, err)
	}
	seen := map[string]bool{}
	for i, u := range f.Users {
		switch {
		case u.User == "" || seen[u.User]:
			return nil, fmt.Errorf("server: broker users: users[%d]: empty or duplicate user", i)
		case len(u.Password) != 64:
			return nil, fmt.Errorf("server: broker users: users[%d].password_sha256: want 64 hex characters", i)
		case !u.Server && (!wire.ValidID(u.Site) || !wire.ValidID(u.Sensor)):
			return nil, fmt.Errorf("server: broker users: users[%d]: a sensor user needs site and sensor ids", i)
		}
		if _, err := hex.DecodeString(u.Password); err != nil {
			return nil, fmt.Errorf("server: broker users: users[%d].password_sha256: %w", i, err)
		}
		seen[u.User] = true
	}
	return f.Users, nil
}

// brokerAuth returns the embedded broker's check of logins: the users of
// the file, and the server's own ingest client with a password made for
// this run. With anonymous, anyone else is let in as an AnySensor: it may
// publish as any sensor but read nothing.
func brokerAuth(users []BrokerUser, anonymous bool) (auth func(string, []byte) (broker.Identity, bool), selfUser, selfPass string) {
	secret := make([]byte, 24)
	rand.Read(secret)
	selfUser, selfPass = "passant-server-internal", hex.EncodeToString(secret)
	byName := map[string]BrokerUser{}
	for _, u := range users {
		byName[u.User] = u
	}
	auth = func(user string, pass []byte) (broker.Identity, bool) {
		if user == selfUser {
			return broker.Identity{Server: true}, subtle.ConstantTimeCompare(pass, []byte(selfPass)) == 1
		}
		u, ok := byName[user]
		if !ok {
			return broker.Identity{AnySensor: true}, anonymous
		}
		sum := sha256.Sum256(pass)
		want, _ := hex.DecodeString(u.Password)
		if subtle.ConstantTimeCompare(sum[:], want) != 1 {
			return broker.Identity{}, false
		}
		return broker.Identity{Site: u.Site, Sensor: u.Sensor, Server: u.Server}, true
	}
	return auth, selfUser, selfPass
}
