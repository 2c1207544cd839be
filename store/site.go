package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/passant/passant/wire"
)

// siteBody validates the site and returns its canonical JSON and its hash.
func siteBody(s *wire.Site) (string, string, error) {
	if err := s.Validate(); err != nil {
		return "", "", err
	}
	b, err := json.Marshal(s)
	if err != nil {
		return "", "", err
	}
	sum := sha256.Sum256(b)
	return string(b), hex.EncodeToString(sum[:]), nil
}

// forUpdate locks the selected rows until the transaction ends (PostgreSQL;
// a SQLite write transaction holds the whole database already).
func (db *DB) forUpdate() string {
	if db.pg {
		return " FOR UPDATE"
	}
	return ""
}

// siteHead reads the sites row of a site in a transaction: the latest
// version (0 when none), its hash and the last applied file's hash.
func (db *DB) siteHead(ctx context.Context, tx q, site string) (version int, hash, fileHash string, err error) {
	err = tx.queryRow(ctx, `SELECT s.version, v.hash, s.file_hash FROM sites s
		JOIN site_versions v ON v.site = s.site AND v.version = s.version
		WHERE s.site = $1`+db.forUpdate(), site).Scan(&version, &hash, &fileHash)
	if errNoRows(err) {
		return 0, "", "", nil
	}
	return version, hash, fileHash, err
}

// addVersion stores the next version of a site in a transaction.
func addVersion(ctx context.Context, tx q, site string, prev int, body, hash, source, note string) (SiteVersion, error) {
	v := SiteVersion{Site: site, Version: prev + 1, Source: source, Note: cleanText(note), Hash: hash, Created: time.Now().UnixMilli()}
	if _, err := tx.exec(ctx, `INSERT INTO site_versions (site, version, source, note, hash, created, body)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, v.Site, v.Version, v.Source, v.Note, v.Hash, v.Created, body); err != nil {
		return v, err
	}
	_, err := tx.exec(ctx, `INSERT INTO sites (site, version) VALUES ($1, $2)
		ON CONFLICT (site) DO UPDATE SET version = excluded.version`, v.Site, v.Version)
	return v, err
}

func (db *DB) versionMeta(ctx context.Context, tx q, site string, version int) (SiteVersion, error) {
	v := SiteVersion{Site: site, Version: version}
	err := tx.queryRow(ctx, `SELECT source, note, hash, created FROM site_versions WHERE site = $1 AND version = $2`,
		site, version).Scan(&v.Source, &v.Note, &v.Hash, &v.Created)
	if errNoRows(err) {
		err = ErrNotFound
	}
	return v, err
}

// SaveSite implements Sites.
func (db *DB) SaveSite(ctx context.Context, s *wire.Site, source, note string) (SiteVersion, error) {
	body, hash, err := siteBody(s)
	if err != nil {
		return SiteVersion{}, fmt.Errorf("store: save site %s: %w", s.Site, err)
	}
	var v SiteVersion
	err = db.tx(ctx, func(tx q) error {
		head, headHash, _, err := db.siteHead(ctx, tx, s.Site)
		if err != nil {
			return err
		}
		if head > 0 && headHash == hash {
			v, err = db.versionMeta(ctx, tx, s.Site, head)
			return err
		}
		v, err = addVersion(ctx, tx, s.Site, head, body, hash, source, note)
		return err
	})
	if err != nil {
		return SiteVersion{}, fmt.Errorf("store: save site %s: %w", s.Site, err)
	}
	return v, nil
}

// ApplySiteFile implements Sites.
func (db *DB) ApplySiteFile(ctx context.Context, s *wire.Site, file []byte) (SiteVersion, bool, error) {
	body, hash, err := siteBody(s)
	if err != nil {
		return SiteVersion{}, false, fmt.Errorf("store: apply site file %s: %w", s.Site, err)
	}
	sum := sha256.Sum256(file)
	fileHash := hex.EncodeToString(sum[:])
	var (
		v       SiteVersion
		changed bool
	)
	err = db.tx(ctx, func(tx q) error {
		head, headHash, lastFile, err := db.siteHead(ctx, tx, s.Site)
		if err != nil {
			return err
		}
		if head > 0 && (lastFile == fileHash || headHash == hash) {
			if lastFile != fileHash {
				if _, err := tx.exec(ctx, `UPDATE sites SET file_hash = $2 WHERE site = $1`, s.Site, fileHash); err != nil {
					return err
				}
			}
			v, err = db.versionMeta(ctx, tx, s.Site, head)
			return err
		}
		v, err = addVersion(ctx, tx, s.Site, head, body, hash, SourceFile, "")
		if err != nil {
			return err
		}
		changed = true
		_, err = tx.exec(ctx, `UPDATE sites SET file_hash = $2 WHERE site = $1`, s.Site, fileHash)
		return err
	})
	if err != nil {
		return SiteVersion{}, false, fmt.Errorf("store: apply site file %s: %w", s.Site, err)
	}
	return v, changed, nil
}

// Site implements Sites.
func (db *DB) Site(ctx context.Context, site string) (*wire.Site, SiteVersion, error) {
	s, v, err := db.loadSite(ctx, `SELECT v.version, v.source, v.note, v.hash, v.created, v.body
		FROM sites s JOIN site_versions v ON v.site = s.site AND v.version = s.version
		WHERE s.site = $1`, site)
	if err != nil {
		return nil, v, fmt.Errorf("store: load site %s: %w", site, err)
	}
	return s, v, nil
}

// SiteAt implements Sites.
func (db *DB) SiteAt(ctx context.Context, site string, version int) (*wire.Site, SiteVersion, error) {
	s, v, err := db.loadSite(ctx, `SELECT version, source, note, hash, created, body
		FROM site_versions WHERE site = $1 AND version = $2`, site, version)
	if err != nil {
		return nil, v, fmt.Errorf("store: load site %s version %d: %w", site, version, err)
	}
	return s, v, nil
}

func (db *DB) loadSite(ctx context.Context, query string, site string, args ...any) (*wire.Site, SiteVersion, error) {
	v := SiteVersion{Site: site}
	var body string
	err := db.q().queryRow(ctx, query, append([]any{site}, args...)...).
		Scan(&v.Version, &v.Source, &v.Note, &v.Hash, &v.Created, &body)
	if errNoRows(err) {
		return nil, v, ErrNotFound
	}
	if err != nil {
		return nil, v, err
	}
	s, err := wire.ParseSite([]byte(body), false)
	if err != nil {
		return nil, v, fmt.Errorf("stored version %d: %w", v.Version, err)
	}
	return s, v, nil
}

// SiteHistory implements Sites.
func (db *DB) SiteHistory(ctx context.Context, site string) ([]SiteVersion, error) {
	vs, err := db.versions(ctx, `SELECT site, version, source, note, hash, created FROM site_versions
		WHERE site = $1 ORDER BY version DESC`, site)
	if err != nil {
		return nil, fmt.Errorf("store: site history %s: %w", site, err)
	}
	return vs, nil
}

// ListSites implements Sites.
func (db *DB) ListSites(ctx context.Context) ([]SiteVersion, error) {
	vs, err := db.versions(ctx, `SELECT v.site, v.version, v.source, v.note, v.hash, v.created
		FROM sites s JOIN site_versions v ON v.site = s.site AND v.version = s.version ORDER BY v.site`)
	if err != nil {
		return nil, fmt.Errorf("store: list sites: %w", err)
	}
	return vs, nil
}

func (db *DB) versions(ctx context.Context, query string, args ...any) ([]SiteVersion, error) {
	rs, err := db.q().query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	vs := []SiteVersion{}
	for rs.Next() {
		var v SiteVersion
		if err := rs.Scan(&v.Site, &v.Version, &v.Source, &v.Note, &v.Hash, &v.Created); err != nil {
			return nil, err
		}
		vs = append(vs, v)
	}
	return vs, rs.Err()
}

// RevertSite implements Sites.
func (db *DB) RevertSite(ctx context.Context, site string, version int, note string) (SiteVersion, error) {
	var v SiteVersion
	err := db.tx(ctx, func(tx q) error {
		head, _, _, err := db.siteHead(ctx, tx, site)
		if err != nil {
			return err
		}
		var body, hash string
		err = tx.queryRow(ctx, `SELECT body, hash FROM site_versions WHERE site = $1 AND version = $2`,
			site, version).Scan(&body, &hash)
		if errNoRows(err) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if note == "" {
			note = fmt.Sprintf("revert to version %d", version)
		}
		v, err = addVersion(ctx, tx, site, head, body, hash, SourceRevert, note)
		return err
	})
	if err != nil {
		return SiteVersion{}, fmt.Errorf("store: revert site %s to version %d: %w", site, version, err)
	}
	return v, nil
}

// DeleteSite implements Sites.
func (db *DB) DeleteSite(ctx context.Context, site string) error {
	err := db.tx(ctx, func(tx q) error {
		for _, query := range []string{
			`DELETE FROM site_versions WHERE site = $1`,
			`DELETE FROM plan_images WHERE site = $1`,
			`DELETE FROM sites WHERE site = $1`,
		} {
			if _, err := tx.exec(ctx, query, site); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: delete site %s: %w", site, err)
	}
	return nil
}

// PutPlanImage implements Sites.
func (db *DB) PutPlanImage(ctx context.Context, site string, img PlanImage) error {
	if img.Updated == 0 {
		img.Updated = time.Now().UnixMilli()
	}
	err := db.tx(ctx, func(tx q) error {
		_, err := tx.exec(ctx, `INSERT INTO plan_images (site, content_type, data, updated) VALUES ($1, $2, $3, $4)
			ON CONFLICT (site) DO UPDATE SET content_type = excluded.content_type, data = excluded.data,
			updated = excluded.updated`, site, cleanText(img.ContentType), img.Data, img.Updated)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: put plan image %s: %w", site, err)
	}
	return nil
}

// PlanImage implements Sites.
func (db *DB) PlanImage(ctx context.Context, site string) (PlanImage, error) {
	var img PlanImage
	err := db.q().queryRow(ctx, `SELECT content_type, data, updated FROM plan_images WHERE site = $1`, site).
		Scan(&img.ContentType, &img.Data, &img.Updated)
	if errNoRows(err) {
		err = ErrNotFound
	}
	if err != nil {
		return PlanImage{}, fmt.Errorf("store: plan image %s: %w", site, err)
	}
	return img, nil
}
