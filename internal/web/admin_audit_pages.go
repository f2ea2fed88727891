package web

import (
	"encoding/csv"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/accounts"
	"github.com/gatehousehq/gatehouse/internal/signin"
)

type auditPage struct {
	Nav    settingsNav
	User   string
	Event  string
	From   string
	To     string
	Events []auditRow
	Error  string
	Field  string
	CSV    template.URL // the export of the same filters
	Older  template.URL // the next page
	Names  []string
}

// auditEvents are the event names offered in the filter.
var auditEvents = []string{
	gatehouse.AuditLoginSucceeded, gatehouse.AuditLoginFailed, gatehouse.AuditLoginThrottled, gatehouse.AuditLoginPhoneRequired,
	gatehouse.AuditCodeSent, gatehouse.AuditCodeWrong, gatehouse.AuditCodeDeliveryFailed, gatehouse.AuditLogout,
	gatehouse.AuditSettingsChanged, gatehouse.AuditUserCreated, gatehouse.AuditUserEdited, gatehouse.AuditPasswordSet, gatehouse.AuditPasswordChanged,
	gatehouse.AuditPasswordResetRequested, gatehouse.AuditPasswordReset, gatehouse.AuditPhoneAdded, gatehouse.AuditContactChanged,
	gatehouse.AuditTwoFactorReset, gatehouse.AuditBrowserRevoked, gatehouse.AuditUserUnlocked, gatehouse.AuditUserLocked,
	gatehouse.AuditExemptionChanged, gatehouse.AuditUserDisabledChanged, gatehouse.AuditReauthenticated,
	gatehouse.AuditSessionEnded, gatehouse.AuditOtherSessionsEnded, gatehouse.AuditUserDeleted,
}

// auditQuery reads the filters of the audit page; a bad date is named.
func (s *Server) auditQuery(r *http.Request) (accounts.AuditQuery, auditPage, error) {
	q := r.URL.Query()
	d := auditPage{User: q.Get("user"), Event: q.Get("event"), From: q.Get("from"), To: q.Get("to"), Names: auditEvents}
	aq := accounts.AuditQuery{UserEmail: strings.TrimSpace(d.User), Event: d.Event, Limit: 50}
	for _, f := range []struct {
		name, value string
		into        *time.Time
		add         time.Duration
	}{{"from", d.From, &aq.From, 0}, {"to", d.To, &aq.To, 24 * time.Hour}} {
		if f.value == "" {
			continue
		}
		t, err := time.Parse("2006-01-02", f.value)
		if err != nil {
			return aq, d, gatehouse.FieldReason(f.name, gatehouse.ReasonDateInvalid, "%q is not a date; use the form 2026-11-27.", f.value)
		}
		*f.into = t.Add(f.add)
	}
	if v := q.Get("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return aq, d, gatehouse.FieldReason("before", gatehouse.ReasonAuditPage, "The page is not valid.")
		}
		aq.Before = n
	}
	keep := url.Values{}
	for _, k := range []string{"user", "event", "from", "to"} {
		if v := q.Get(k); v != "" {
			keep.Set(k, v)
		}
	}
	// Built from encoded values on our own path, so safe as a URL.
	d.CSV = template.URL("/settings/audit.csv?" + keep.Encode())
	return aq, d, nil
}

func (s *Server) auditPage(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	aq, d, err := s.auditQuery(r)
	d.Nav = newNav(cur, "audit")
	if err == nil {
		var next int64
		var events []*gatehouse.AuditEvent
		events, next, err = s.auditSearch.AuditSearch(r.Context(), cur.Organization.Slug, aq)
		if err == nil {
			d.Events, err = s.auditRows(r, cur, events)
		}
		if next != 0 {
			older := r.URL.Query()
			older.Set("before", strconv.FormatInt(next, 10))
			d.Older = template.URL("/settings/audit?" + older.Encode())
		}
	}
	status := http.StatusOK
	if err != nil {
		msg, field, st, internal := s.formError(w, r, err)
		if internal != nil {
			return internal
		}
		d.Error, d.Field, status = msg, field, st
	}
	s.renderPage(w, r, status, "settings_audit", d)
	return nil
}

// auditCSV exports the filtered log, up to 10,000 events a file.
func (s *Server) auditCSV(w http.ResponseWriter, r *http.Request, cur *signin.Current) error {
	aq, _, err := s.auditQuery(r)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="gatehouse-audit-`+cur.Organization.Slug+`.csv"`)
	cw := csv.NewWriter(w)
	cw.Write([]string{"id", "time", "event", "event_words", "reason", "reason_words", "user_id", "user_email", "user_name",
		"actor_id", "actor_email", "actor_name", "client_ip", "detail"})
	aq.Limit = 1000
	for written := 0; written < 10000; {
		events, next, err := s.auditSearch.AuditSearch(r.Context(), cur.Organization.Slug, aq)
		if err != nil {
			return err
		}
		people, err := s.auditSearch.AuditPeople(r.Context(), cur.Organization.Slug, events)
		if err != nil {
			return err
		}
		for _, e := range events {
			user, actor := auditPerson(people, e.UserID, e), auditPerson(people, e.ActorID, nil)
			cw.Write([]string{strconv.FormatInt(e.ID, 10), e.At.UTC().Format(time.RFC3339), e.Event, s.auditWords(r, "event", e.Event),
				e.Reason, s.auditWords(r, "reason", e.Reason), e.UserID, csvSafe(user.Email), csvSafe(user.Name),
				e.ActorID, csvSafe(actor.Email), csvSafe(actor.Name), addrString(e.ClientIP), csvSafe(detailString(e.Detail))})
			written++
		}
		if next == 0 {
			break
		}
		aq.Before = next
	}
	cw.Flush()
	return cw.Error()
}

// csvSafe keeps a spreadsheet from reading a value as a formula.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func detailString(m map[string]string) string {
	if len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return strings.Join(parts, "; ")
}

// auditRow is one line of the audit page: what happened in words, who did
// it to whom by name and e-mail.
type auditRow struct {
	*gatehouse.AuditEvent
	EventWords, ReasonWords string
	User, Actor             auditName
}

// auditName is a person of the log; Email is "" for nobody (an anonymous
// request, the operator at the command line).
type auditName struct {
	Email, Name string
	Deleted     bool
	// Token is the name of the API token that acted (actors only).
	Token string
}

func (s *Server) auditRows(r *http.Request, cur *signin.Current, events []*gatehouse.AuditEvent) ([]auditRow, error) {
	people, err := s.auditSearch.AuditPeople(r.Context(), cur.Organization.Slug, events)
	if err != nil {
		return nil, err
	}
	rows := make([]auditRow, len(events))
	for i, e := range events {
		rows[i] = auditRow{AuditEvent: e, EventWords: s.auditWords(r, "event", e.Event), ReasonWords: s.auditWords(r, "reason", e.Reason),
			User: auditPerson(people, e.UserID, e), Actor: auditPerson(people, e.ActorID, nil)}
	}
	return rows, nil
}

// auditPerson names the user id of an event: from the users of the
// organization, or, for a user deleted since, from what the event kept
// (a failed sign-in's typed e-mail, user.deleted's detail).
func auditPerson(people map[string]*gatehouse.User, id string, e *gatehouse.AuditEvent) auditName {
	if name, ok := strings.CutPrefix(id, gatehouse.AuditTokenPrefix); ok {
		return auditName{Token: name}
	}
	if u, ok := people[id]; ok {
		return auditName{Email: u.Email, Name: u.Name}
	}
	if e != nil && e.Detail["email"] != "" {
		return auditName{Email: e.Detail["email"], Name: e.Detail["name"], Deleted: id != ""}
	}
	if id != "" {
		return auditName{Deleted: true}
	}
	return auditName{}
}

// auditWords says an event or a reason in the page's language; one the
// catalog does not know is shown as it is.
func (s *Server) auditWords(r *http.Request, kind, name string) string {
	if name == "" {
		return ""
	}
	key := "audit." + kind + "." + name
	if w := s.t(r, key); w != key {
		return w
	}
	return name
}
