package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// newClient is the one HTTP client of the product and the reference: keep-
// alive connections, conns of them idle at most.
func newClient(conns int) *http.Client {
	return &http.Client{
		Transport: &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, IdleConnTimeout: time.Minute, DisableCompression: true},
		Timeout:   60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// call is one request as every figure makes it: the same code for the
// product and the bare handler.
type call struct {
	method, url string
	body        []byte
	cookie      string // the Cookie header, if any
	forwarded   string // X-Forwarded-For, if any
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func do(ctx context.Context, c *http.Client, r call) (reply, error) {
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, r.url, body)
	if err != nil {
		return reply{}, err
	}
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if r.cookie != "" {
		req.Header.Set("Cookie", r.cookie)
	}
	if r.forwarded != "" {
		req.Header.Set("X-Forwarded-For", r.forwarded)
	}
	res, err := c.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return reply{}, err
	}
	return reply{status: res.StatusCode, header: res.Header, body: b}, nil
}

// expect is do with a required status.
func expect(ctx context.Context, c *http.Client, r call, status int) (reply, error) {
	got, err := do(ctx, c, r)
	if err != nil {
		return got, err
	}
	if got.status != status {
		return got, fmt.Errorf("%s %s: %d %s, want %d", r.method, r.url, got.status, bytes.TrimSpace(got.body), status)
	}
	return got, nil
}

// cookies is the Cookie header that sends back every cookie res set.
func cookies(res reply) string {
	var parts []string
	for _, c := range (&http.Response{Header: res.header}).Cookies() {
		if c.Value != "" {
			parts = append(parts, c.Name+"="+c.Value)
		}
	}
	return joinCookies(parts)
}

func joinCookies(parts []string) string {
	var b bytes.Buffer
	for i, p := range parts {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p)
	}
	return b.String()
}

// errNoWork ends a client of load early: its work for the round is done.
var errNoWork = errors.New("no more work")

// rate is what load measured.
type rate struct {
	ok, failed int64
	elapsed    time.Duration
	first      error
}

func (r rate) perSecond() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.ok) / r.elapsed.Seconds()
}

// load runs op in n clients for d (or until every client has no more
// work) and counts what succeeded.
func load(ctx context.Context, n int, d time.Duration, op func(ctx context.Context, client int) error) rate {
	var ok, failed atomic.Int64
	var first atomic.Pointer[error]
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for c := range n {
		wg.Go(func() {
			for time.Now().Before(deadline) && ctx.Err() == nil {
				err := op(ctx, c)
				switch {
				case errors.Is(err, errNoWork):
					return
				case err != nil:
					failed.Add(1)
					first.CompareAndSwap(nil, &err)
				default:
					ok.Add(1)
				}
			}
		})
	}
	wg.Wait() // the rate is over the time until the last client stopped
	r := rate{ok: ok.Load(), failed: failed.Load(), elapsed: time.Since(start)}
	if e := first.Load(); e != nil {
		r.first = *e
	}
	return r
}

// round is one measurement of a figure: the product's value and the
// reference's, and how much CPU the rest of the machine spent meanwhile
// (in cores).
type round struct {
	product, reference float64
	// for the 2FA sign-in: the p50 of the password and verify steps
	password, verify float64
	other            float64
	disturbed        bool
}

// meter reads the CPU of this benchmark's processes and of the machine.
type meter struct {
	procs []*proc
	// extra, when set, is more CPU of this benchmark's: the PostgreSQL
	// backends of its database.
	extra     func() (int64, error)
	threshold float64
}

func (m *meter) sample() (busy, ours int64, err error) {
	if busy, err = machineBusy(); err != nil {
		return 0, 0, err
	}
	if ours, err = procCPU("self"); err != nil {
		return 0, 0, err
	}
	for _, p := range m.procs {
		t, err := p.cpuTicks()
		if err != nil {
			return 0, 0, err
		}
		ours += t
	}
	if m.extra != nil {
		t, err := m.extra()
		if err != nil {
			return 0, 0, err
		}
		ours += t
	}
	return busy, ours, nil
}

// clockTicks is USER_HZ, the unit of /proc/stat and /proc/PID/stat (100
// on every Linux architecture Go supports).
const clockTicks = 100

// series is the rounds of one figure.
type series struct {
	used                []round
	attempts, disturbed int
}

// measure runs rounds of a figure until o.rounds of them were not
// disturbed, at most 2x o.rounds in all; prepare (may be nil) runs before
// each round, outside the CPU window. When too few rounds were quiet, the
// least disturbed fill the rest.
func (m *meter) measure(rounds int, prepare func(attempt int) error, timed func(attempt int) (round, error)) (series, error) {
	var s series
	var quiet, noisy []round
	for attempt := 0; len(quiet) < rounds && attempt < 2*rounds; attempt++ {
		if prepare != nil {
			if err := prepare(attempt); err != nil {
				return s, err
			}
		}
		busy0, ours0, err := m.sample()
		if err != nil {
			return s, err
		}
		t0 := time.Now()
		r, err := timed(attempt)
		if err != nil {
			return s, err
		}
		el := time.Since(t0)
		busy1, ours1, err := m.sample()
		if err != nil {
			return s, err
		}
		s.attempts++
		r.other = float64((busy1-busy0)-(ours1-ours0)) / clockTicks / el.Seconds()
		r.disturbed = r.other > m.threshold
		if r.disturbed {
			s.disturbed++
			noisy = append(noisy, r)
		} else {
			quiet = append(quiet, r)
		}
	}
	slices.SortFunc(noisy, func(a, b round) int { return cmpFloat(a.other, b.other) })
	s.used = append(quiet, noisy[:rounds-len(quiet)]...)
	return s, nil
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// median of the values f picks from the used rounds.
func (s series) median(f func(round) float64) float64 {
	v := make([]float64, len(s.used))
	for i, r := range s.used {
		v[i] = f(r)
	}
	return medianOf(v)
}

func medianOf(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	if n := len(v); n%2 == 0 {
		return (v[n/2-1] + v[n/2]) / 2
	}
	return v[len(v)/2]
}

func durationsMedian(d []time.Duration) float64 {
	v := make([]float64, len(d))
	for i, x := range d {
		v[i] = float64(x) / float64(time.Millisecond)
	}
	return medianOf(v)
}
