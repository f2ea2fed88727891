package gatehouse

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/netip"
	"time"
)

// Bounds of forgot-password e-mails. They have caps of their own, apart
// from the code-send caps (SendWindow): anyone may ask for a reset for any
// address, so those requests must never use up a user's sign-in codes.
const (
	ResetSendWindow         = time.Hour
	MaxResetSendsPerUser    = 3
	MaxResetSendsPerNetwork = 10
)

// ResetSendNetwork is the key of the per-network reset cap: the IPv4
// address, or the /64 of an IPv6 address (one subscriber holds a whole /64,
// so the exact address would give them 2^64 tries). "" for an unknown
// address; those share one key.
func ResetSendNetwork(ip netip.Addr) string {
	ip = ip.Unmap()
	switch {
	case !ip.IsValid():
		return ""
	case ip.Is4():
		return ip.String()
	}
	p, err := ip.WithZone("").Prefix(64)
	if err != nil {
		return ""
	}
	return p.String()
}

// NewToken returns 256 bits from r as URL-safe base64: every bearer token
// (sessions, pending sign-ins, remembered browsers, password links) is made
// here, from the caller's injected randomness.
func NewToken(r io.Reader) (string, error) {
	var b [32]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("read random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// LinkStore ends what a user started under credentials that are now gone,
// and counts forgot-password e-mails.
type LinkStore interface {
	// DeleteUserChallenges ends every pending sign-in and pending contact
	// change of a user (with their codes) and returns how many.
	DeleteUserChallenges(ctx context.Context, orgID, userID string) (int64, error)
	// VoidPasswordResets spends every unused reset or welcome link of a
	// user at now and returns how many.
	VoidPasswordResets(ctx context.Context, orgID, userID string, now time.Time) (int64, error)
	// RehashPassword replaces the user's password hash with hash only
	// while it is still old (one conditional UPDATE): a rehash at sign-in
	// never undoes a password change made meanwhile. ok is false when the
	// hash had changed (or the user is gone).
	RehashPassword(ctx context.Context, orgID, userID, old, hash string, at time.Time) (ok bool, err error)
	// ReserveResetSend records one reset e-mail to userID asked from
	// network (ResetSendNetwork) at now, if since then fewer than perUser
	// were recorded for the user and fewer than perNetwork for the network.
	// The check and the record are one step: however many race, at most
	// the caps pass. ok is false, and nothing recorded, at a cap.
	ReserveResetSend(ctx context.Context, userID, network string, now, since time.Time, perUser, perNetwork int) (ok bool, err error)
}
