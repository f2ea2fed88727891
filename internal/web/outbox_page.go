package web

import (
	"net/http"

	"github.com/gatehousehq/gatehouse"
)

type outboxPage struct {
	Messages []*gatehouse.OutboxMessage
}

// outbox shows the development outbox; it is routed only in dev mode.
func (s *Server) outbox(w http.ResponseWriter, r *http.Request) error {
	msgs, err := s.cfg.Outbox.ListOutboxMessages(r.Context(), 50)
	if err != nil {
		return err
	}
	s.renderPage(w, r, http.StatusOK, "outbox", outboxPage{Messages: msgs})
	return nil
}
