package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gatehousehq/gatehouse"
)

// backChannelEvent is the event of a logout token (OIDC Back-Channel
// Logout 1.0 §2.4).
const backChannelEvent = "http://schemas.openid.net/event/backchannel-logout"

// Back-channel logout is durable. The clients of an ended session are
// queued in the database in the transaction that takes the session's
// tokens (TakeEndedGrants), and any node posts their logout tokens from
// the queue, so a client that is down is told when it is back.
//
// A try gives up after logoutTimeout; it fails on a network error, a
// timeout or any answer but 200 or 204 (§2.8). The tries: at once, then
// 30 s, 1, 2, 4, 8 and 16 minutes after the one before, then every 30
// minutes. The first failure more than a day after the logout was queued
// drops it (about 54 tries), logged with the client ID only. The queue
// holds at most maxQueuedLogouts: beyond that the oldest are dropped
// (those clients have failed the longest), with a warning. A claim takes
// logoutBatch logouts, posted in parallel, and hides them from other nodes
// for logoutLease, well past the time a batch may take.
const (
	logoutTimeout    = 5 * time.Second
	logoutLease      = 4 * logoutTimeout
	logoutBatch      = 10
	logoutFirstRetry = 30 * time.Second
	logoutMaxRetry   = 30 * time.Minute
	logoutGiveUp     = 24 * time.Hour
	maxQueuedLogouts = 10000
	// logoutPoll is how often Run takes ended sessions and posts what is
	// due: as often as the first retry.
	logoutPoll = logoutFirstRetry
)

// logoutBackoff is the wait after the given number of failed tries.
func logoutBackoff(attempts int) time.Duration {
	w := logoutFirstRetry
	for i := 1; i < attempts && w < logoutMaxRetry; i++ {
		w *= 2
	}
	return min(w, logoutMaxRetry)
}

// backChannelLogout queues the clients of the sessions that have ended
// (however they ended: sign-out, password change, an admin, expiry; on
// whichever node) and posts every logout token that is due.
func (p *Provider) backChannelLogout(ctx context.Context) {
	queued, dropped, err := p.cfg.Store.TakeEndedGrants(ctx, p.cfg.Now(), maxQueuedLogouts)
	if err != nil {
		p.log.WarnContext(ctx, "back-channel logout: taking ended sessions failed", slog.Any("error", err))
	} else if dropped > 0 {
		p.log.WarnContext(ctx, "back-channel logout queue full: dropped the oldest logouts",
			slog.Int("queued", queued), slog.Int("dropped", dropped), slog.Int("max", maxQueuedLogouts))
	}
	p.tellLogouts(ctx)
}

// tellLogouts posts the logout tokens due now, a claimed batch at a time,
// until none is due or ctx ends. A batch claimed is finished even when ctx
// ends, so shutting down never strands a claim half-done.
func (p *Provider) tellLogouts(ctx context.Context) {
	for ctx.Err() == nil {
		bctx := context.WithoutCancel(ctx)
		ls, err := p.cfg.Store.ClaimLogouts(bctx, p.cfg.Now(), logoutLease, logoutBatch)
		if err != nil {
			p.log.WarnContext(ctx, "back-channel logout: claiming failed", slog.Any("error", err))
			return
		}
		if len(ls) == 0 {
			return
		}
		var wg sync.WaitGroup
		for _, l := range ls {
			wg.Go(func() { p.tell(bctx, l) })
		}
		wg.Wait()
	}
}

// tell posts one claimed logout and deletes it, or schedules its retry. A
// client deleted or without a logout URI since is not told.
func (p *Provider) tell(ctx context.Context, l *gatehouse.QueuedLogout) {
	c, err := p.cfg.Store.OAuthClientByID(ctx, l.ClientID)
	switch {
	case gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND:
		p.forget(ctx, l)
		return
	case err == nil && c.BackChannelLogoutURI == "":
		p.forget(ctx, l)
		return
	case err == nil:
		err = p.sendLogout(ctx, c, l)
	}
	if err == nil {
		p.forget(ctx, l)
		return
	}
	now := p.cfg.Now()
	if now.Sub(l.CreatedAt) >= logoutGiveUp {
		p.log.ErrorContext(ctx, "back-channel logout: gave up on a client", slog.String("client_id", l.ClientID),
			slog.Int("attempts", l.Attempts), slog.Any("error", err))
		p.forget(ctx, l)
		return
	}
	next := now.Add(logoutBackoff(l.Attempts))
	p.log.WarnContext(ctx, "back-channel logout failed; will retry", slog.String("client_id", l.ClientID),
		slog.Int("attempts", l.Attempts), slog.Time("retry_at", next), slog.Any("error", err))
	if err := p.cfg.Store.RetryLogout(ctx, l.ID, next); err != nil {
		// The claim runs out instead: the logout is tried again then.
		p.log.WarnContext(ctx, "back-channel logout: rescheduling failed", slog.String("client_id", l.ClientID), slog.Any("error", err))
	}
}

func (p *Provider) forget(ctx context.Context, l *gatehouse.QueuedLogout) {
	if err := p.cfg.Store.DeleteLogout(ctx, l.ID); err != nil {
		// The claim runs out and the client is told again: a logout
		// token twice is harmless, none is not.
		p.log.WarnContext(ctx, "back-channel logout: dequeueing failed", slog.String("client_id", l.ClientID), slog.Any("error", err))
	}
}

// sendLogout posts one logout token, signed with the client's algorithm.
// Its error never names the logout URI, which may hold a secret of the
// client's.
func (p *Provider) sendLogout(ctx context.Context, c *gatehouse.OAuthClient, l *gatehouse.QueuedLogout) error {
	k, err := p.keys.signer(ctx, c.SigningAlg)
	if err != nil {
		return err
	}
	now := p.cfg.Now()
	payload, err := json.Marshal(map[string]any{
		"iss": p.issuer, "aud": l.ClientID, "iat": now.Unix(), "exp": now.Add(2 * time.Minute).Unix(),
		"jti": gatehouse.NewID(), "sub": l.UserID, "sid": l.SessionID,
		"events": map[string]any{backChannelEvent: map[string]any{}},
	})
	if err != nil {
		return err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: k.alg, Key: &jose.JSONWebKey{Key: k.key, KeyID: k.id}},
		(&jose.SignerOptions{}).WithType("logout+jwt"))
	if err != nil {
		return fmt.Errorf("oidc: logout token signer: %w", err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return fmt.Errorf("oidc: sign logout token: %w", err)
	}
	token, err := jws.CompactSerialize()
	if err != nil {
		return fmt.Errorf("oidc: sign logout token: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, logoutTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.BackChannelLogoutURI, strings.NewReader(url.Values{"logout_token": {token}}.Encode()))
	if err != nil {
		return errors.New("oidc: logout request: the client's back-channel logout URI is not usable")
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := p.cfg.HTTPClient.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("oidc: post logout token: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 4<<10))
	res.Body.Close()
	if res.StatusCode != http.StatusOK && res.StatusCode != http.StatusNoContent {
		return fmt.Errorf("oidc: the client answered the logout token with %d", res.StatusCode)
	}
	return nil
}
