package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// report is the table of issue 12's figures.
type report struct {
	header []string
	rows   [][]string
	notes  []string
}

func (s series) rounds(name string) string {
	return fmt.Sprintf("%s: %d of %d rounds disturbed; the median is of %d rounds, the quiet ones first, then the least disturbed (the rest of the machine used %.2f cores in the median one of them)",
		name, s.disturbed, s.attempts, len(s.used), s.median(func(r round) float64 { return r.other }))
}

// rate adds a figure whose values are rates, the ratio being the
// median of each round's product/reference.
func (rep *report) rate(name, reference, goal string, s series) {
	ratio := s.median(func(r round) float64 { return r.product / r.reference })
	rep.rows = append(rep.rows, []string{name,
		fmt.Sprintf("%.1f/s", s.median(func(r round) float64 { return r.product })),
		fmt.Sprintf("%.1f/s %s", s.median(func(r round) float64 { return r.reference }), reference),
		fmt.Sprintf("%.3f", ratio), goal})
	rep.notes = append(rep.notes, s.rounds(name))
}

// latency adds the 2FA sign-in figure: p50s in ms; the ratio is how many
// raw hashes the whole sign-in costs.
func (rep *report) latency(name, goal string, s series) {
	rep.rows = append(rep.rows, []string{name,
		fmt.Sprintf("%.1f ms (password %.1f ms, verify %.1f ms)", s.median(func(r round) float64 { return r.product }),
			s.median(func(r round) float64 { return r.password }), s.median(func(r round) float64 { return r.verify })),
		fmt.Sprintf("%.1f ms raw argon2id", s.median(func(r round) float64 { return r.reference })),
		fmt.Sprintf("%.3f", s.median(func(r round) float64 { return r.product / r.reference })), goal})
	rep.notes = append(rep.notes, s.rounds(name))
}

// flooded is what the flood saw.
type flooded struct {
	n               int
	ok, busy, other int64
	first           string
	peak            int64
	took            time.Duration
}

func (rep *report) flood(f flooded) {
	answers := fmt.Sprintf("200: %d, 503+Retry-After: %d, other: %d", f.ok, f.busy, f.other)
	rep.rows = append(rep.rows, []string{fmt.Sprintf("peak RSS, %d simultaneous sign-ins", f.n),
		fmt.Sprintf("%.1f MB (%s)", float64(f.peak)/(1<<20), answers), "-", "-", "≤ 300 MB, only 200 or 503+Retry-After"})
	note := fmt.Sprintf("peak RSS: the server process's VmHWM, reset before the flood; all answered in %.1f s", f.took.Seconds())
	if f.other > 0 {
		note += fmt.Sprintf("; NOT ALLOWED: %d other answers, the first: %.200s", f.other, f.first)
	}
	rep.notes = append(rep.notes, note)
}

func (rep *report) print(w io.Writer) {
	for _, h := range rep.header {
		fmt.Fprintln(w, h)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\tproduct\treference\tratio\tgoal")
	for _, r := range rep.rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
	fmt.Fprintln(w)
	for _, n := range rep.notes {
		fmt.Fprintln(w, n)
	}
}
