package gatehouse

import (
	"context"
	"time"
)

// Bounds of known devices (docs/design.md §3).
const (
	// DeviceLifetime is how long a browser stays known after the user last
	// gave their password on it.
	DeviceLifetime = 365 * 24 * time.Hour
	// MaxDevicesPerUser bounds the known devices kept per user; a new one
	// past it replaces the least recently used.
	MaxDevicesPerUser = 20
	// MaxDevicesPerBrowser bounds the users one browser is known for (a
	// shared computer).
	MaxDevicesPerBrowser = 5
)

// Device is a browser on which a user has given their correct password. A
// sign-in from it is held to the device's own failure count instead of the
// account's, so failures elsewhere cannot keep the owner out.
type Device struct {
	ID         string
	TokenHash  []byte
	OrgID      string
	UserID     string
	CreatedAt  time.Time
	LastUsedAt time.Time
	ExpiresAt  time.Time
}

// DeviceStore keeps known devices by the hash of their token.
type DeviceStore interface {
	// CreateDevice saves a new device and forgets the user's expired ones
	// and, past MaxDevicesPerUser, the least recently used. Returns
	// ENOTFOUND unless the user exists in d.OrgID, ECONFLICT if the id or
	// token hash is taken.
	CreateDevice(ctx context.Context, d *Device) error
	// FindDevice returns the unexpired device of that user in that
	// organization whose token hash is among hashes (at most
	// MaxDevicesPerBrowser are looked at), or ENOTFOUND.
	FindDevice(ctx context.Context, orgID, userID string, hashes [][]byte, now time.Time) (*Device, error)
	// TouchDevice records a correct password on the device and moves its
	// expiry to expires; neither moves backwards. Returns ENOTFOUND if it
	// is gone.
	TouchDevice(ctx context.Context, id string, now, expires time.Time) error
}
