package sqlstore

import (
	"sync"
	"testing"

	"github.com/gatehousehq/gatehouse"
)

// race runs fn(i) for i in [0, n) at once: n concurrent callers, released
// together so that they really overlap (a test with two nodes alternates
// them by i%2). It returns how many won, that is returned true. An error
// from any caller fails the test once all have returned, so fn maps a
// loser's expected refusal to false, nil (see wonUnless).
func race(t testing.TB, n int, fn func(i int) (won bool, err error)) int {
	t.Helper()
	won := make([]bool, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			won[i], errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	wins := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("caller %d of %d: %v", i, n, errs[i])
		}
		if won[i] {
			wins++
		}
	}
	return wins
}

// wonUnless is race's answer for a call whose losers are refused with the
// error code loser: nil wins, loser loses, any other error is an error.
func wonUnless(loser string, err error) (bool, error) {
	switch {
	case err == nil:
		return true, nil
	case gatehouse.ErrorCode(err) == loser:
		return false, nil
	}
	return false, err
}
