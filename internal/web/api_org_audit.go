package web

import (
	"net/http"
	"strconv"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/signin"
)

type auditJSON struct {
	ID       string            `json:"id"`
	At       *string           `json:"at"`
	Event    string            `json:"event"`
	Reason   string            `json:"reason,omitempty"`
	UserID   string            `json:"user_id,omitempty"`
	ActorID  string            `json:"actor_id,omitempty"`
	User     *personJSON       `json:"user,omitempty"`
	Actor    *personJSON       `json:"actor,omitempty"`
	ClientIP string            `json:"client_ip,omitempty"`
	Detail   map[string]string `json:"detail,omitempty"`
}

// personJSON names the user or actor of an event (deleted: the user no
// longer exists; the e-mail, when known, is what the event kept).
type personJSON struct {
	Email   string `json:"email,omitempty"`
	Name    string `json:"name,omitempty"`
	Deleted bool   `json:"deleted,omitempty"`
	// Token names the API token that acted.
	Token string `json:"token,omitempty"`
}

func personOf(n auditName) *personJSON {
	if n == (auditName{}) {
		return nil
	}
	return &personJSON{Email: n.Email, Name: n.Name, Deleted: n.Deleted, Token: n.Token}
}

// apiAudit is GET /api/v1/organizations/{slug}/audit-events?before=&limit=.
func (s *Server) apiAudit(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	limit, err := queryInt(r, "limit", 50)
	if err != nil {
		return err
	}
	var before int64
	if v := r.URL.Query().Get("before"); v != "" {
		if before, err = strconv.ParseInt(v, 10, 64); err != nil || before <= 0 {
			return gatehouse.FieldError("before", "before must be the \"next\" value of a previous page.")
		}
	}
	events, next, err := s.auditLog.AuditPage(r.Context(), cur.Organization.Slug, before, limit)
	if err != nil {
		return err
	}
	people, err := s.auditSearch.AuditPeople(r.Context(), cur.Organization.Slug, events)
	if err != nil {
		return err
	}
	out := make([]auditJSON, 0, len(events))
	for _, e := range events {
		out = append(out, auditJSON{ID: strconv.FormatInt(e.ID, 10), At: timeJSON(e.At), Event: e.Event, Reason: e.Reason,
			UserID: e.UserID, ActorID: e.ActorID, User: personOf(auditPerson(people, e.UserID, e)), Actor: personOf(auditPerson(people, e.ActorID, nil)),
			ClientIP: addrString(e.ClientIP), Detail: e.Detail})
	}
	var nextJSON *string
	if next != 0 {
		v := strconv.FormatInt(next, 10)
		nextJSON = &v
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": out, "next": nextJSON})
	return nil
}
