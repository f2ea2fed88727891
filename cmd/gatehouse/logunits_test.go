package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// logLines parses the server's JSON log, one object a line.
func logLines(t *testing.T, logs string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for l := range strings.Lines(logs) {
		if strings.TrimSpace(l) == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("a log line is not JSON: %q: %v", l, err)
		}
		lines = append(lines, m)
	}
	return lines
}

// noBareDurations fails on any log value written as a Go duration
// ("1.5ms", "2h0m0s"): in JSON logs a duration is a number of milliseconds
// under a key ending in _ms, so that whoever alerts on it reads its unit.
func noBareDurations(t *testing.T, lines []map[string]any) {
	t.Helper()
	for _, l := range lines {
		for k, v := range l {
			s, ok := v.(string)
			if !ok || !strings.ContainsAny(s, "hmsuµn") {
				continue
			}
			if _, err := time.ParseDuration(s); err == nil {
				t.Errorf("log line %q: %s=%q is a duration without a number unit; log it as %s_ms", l["msg"], k, s, k)
			}
		}
	}
}

// TestRequestLogStatesItsDurationInMilliseconds: each request's log line
// carries duration_ms, a number, and nothing in the log is a duration
// string.
func TestRequestLogStatesItsDurationInMilliseconds(t *testing.T) {
	te := newTestEnv(t)
	base := te.serve()
	res, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	lines := logLines(t, te.logs.String())
	var found bool
	for _, l := range lines {
		if l["msg"] != "request" || l["route"] != "GET /healthz" {
			continue
		}
		found = true
		ms, ok := l["duration_ms"].(float64)
		if !ok || ms < 0 || ms > 30_000 {
			t.Errorf("request line %v: duration_ms = %#v, want a number of milliseconds", l, l["duration_ms"])
		}
		if _, ok := l["duration"]; ok {
			t.Errorf("request line %v still has duration, a number without its unit", l)
		}
	}
	if !found {
		t.Fatalf("no request line for GET /healthz in %q", te.logs.String())
	}
	noBareDurations(t, lines)
}
