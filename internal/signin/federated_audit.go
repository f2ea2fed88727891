package signin

import (
	"strconv"
	"sync"
	"time"
)

// refusalWindow is how long the refusals of one organization are gathered
// into one audit event.
const refusalWindow = time.Minute

// refusalLog aggregates refused SAML2 responses per organization, so that
// junk posted to the ACS writes at most two audit rows per organization and
// minute on each node (the first refusal, and the count of the rest). Its
// zero value is ready; it holds one entry per organization that has had a
// refusal, and the callers only pass organizations that exist and sign in
// with SAML2, so it is bounded by their number.
type refusalLog struct {
	mu   sync.Mutex
	orgs map[string]*refusalEntry
}

type refusalEntry struct {
	start  time.Time      // the window's start
	counts map[string]int // refusals after the first in the window, by reason
}

// note records one refusal at now. write says whether to audit it in full;
// summary, when not nil, is the Detail of the count of an earlier window,
// to be written first.
func (l *refusalLog) note(orgID, reason string, now time.Time) (write bool, summary map[string]string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.orgs == nil {
		l.orgs = map[string]*refusalEntry{}
	}
	start := now.Truncate(refusalWindow)
	e := l.orgs[orgID]
	if e != nil && e.start.Equal(start) {
		e.counts[reason]++
		return false, nil
	}
	if e != nil && len(e.counts) > 0 {
		summary = map[string]string{"from": e.start.UTC().Format(time.RFC3339), "to": e.start.Add(refusalWindow).UTC().Format(time.RFC3339)}
		for r, n := range e.counts {
			summary[r] = strconv.Itoa(n)
		}
	}
	l.orgs[orgID] = &refusalEntry{start: start, counts: map[string]int{}}
	return true, summary
}
