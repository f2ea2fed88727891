package main

import (
	"context"
	"io"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestDemo is the README's first command: the demo starts on an empty data
// folder, prints its sign-ins, and a member signs in with the code from the
// outbox page and is not asked again in that browser.
func TestDemo(t *testing.T) {
	dir := t.TempDir()
	out := &syncWriter{}
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan net.Addr, 1)
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, &env{args: []string{"demo", "--addr", "127.0.0.1:0", "--data-dir", dir, "--argon2-memory", "64", "--argon2-time", "1"},
			stdin: strings.NewReader(""), stdout: out, stderr: io.Discard, getenv: func(string) string { return "" },
			listening: func(a net.Addr) { addr <- a }})
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("demo exited %d", code)
		}
	})
	var base string
	select {
	case a := <-addr:
		base = "http://" + a.String()
	case code := <-done:
		t.Fatalf("demo exited %d before listening", code)
	case <-time.After(30 * time.Second):
		t.Fatal("demo did not start")
	}
	// The sign-ins are printed before the listener is reported.
	printed := out.String()
	m := regexp.MustCompile(`member@demo\.test\s+password: (\S+)`).FindStringSubmatch(printed)
	if m == nil || !strings.Contains(printed, "two-factor authentication enforced, codes by e-mail") || !strings.Contains(printed, base+"/dev/outbox") {
		t.Fatalf("demo printed:\n%s", printed)
	}
	login := `{"organization":"demo","email":"member@demo.test","password":"` + m[1] + `"}`
	c := newBrowser()
	if _, body := post(t, c, base+"/api/v1/login", login); status(t, body) != "code_sent" {
		t.Fatalf("login: %s", body)
	}
	res, err := c.Get(base + "/dev/outbox")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	code := codeRE.FindString(string(page))
	if res.StatusCode != 200 || code == "" {
		t.Fatalf("outbox: %d, no code in it", res.StatusCode)
	}
	if st, body := post(t, c, base+"/api/v1/login/verify", `{"code":"`+code+`"}`); st != 200 || status(t, body) != "verified" {
		t.Fatalf("verify: %d %s", st, body)
	}
	post(t, c, base+"/api/v1/logout", "")
	if _, body := post(t, c, base+"/api/v1/login", login); status(t, body) != "remembered" {
		t.Errorf("second sign-in: %s, want remembered", body)
	}
}
