package main

import (
	"bytes"
	"database/sql"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary stand for the bare handler too: the
// benchmark runs its own executable for it.
func TestMain(m *testing.M) {
	if os.Getenv(bareEnv) == "1" {
		os.Exit(serveBare(os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// The figures as the table prints them; every captured number must be
// positive. This checks that the benchmark works, never a speed.
var figures = []struct{ name, pattern string }{
	{"password sign-ins", `(?m)^password sign-ins \(4 clients\) +([\d.]+)/s +([\d.]+)/s raw argon2id +([\d.]+) +≥ 0\.90$`},
	{"session checks", `(?m)^session checks \(GET /api/v1/session\) +([\d.]+)/s +([\d.]+)/s bare handler +([\d.]+) +≥ 0\.50$`},
	{"code verifications", `(?m)^code verifications \(POST /api/v1/login/verify\) +([\d.]+)/s +([\d.]+)/s bare handler +([\d.]+) +≥ 0\.10$`},
	{"2FA sign-in", `(?m)^full e-mail 2FA sign-in, 1 client, p50 +([\d.]+) ms \(password ([\d.]+) ms, verify ([\d.]+) ms\) +([\d.]+) ms raw argon2id +([\d.]+) +≤ 35 ms$`},
	{"peak RSS", `(?m)^peak RSS, 100 simultaneous sign-ins +([\d.]+) MB \(200: (\d+), 503\+Retry-After: \d+, other: 0\) `},
}

func checkTable(t *testing.T, out string) {
	t.Helper()
	for _, f := range figures {
		m := regexp.MustCompile(f.pattern).FindStringSubmatch(out)
		if m == nil {
			t.Errorf("%s: no line matching %s", f.name, f.pattern)
			continue
		}
		for _, v := range m[1:] {
			if n, err := strconv.ParseFloat(v, 64); err != nil || n <= 0 {
				t.Errorf("%s: %q is not a positive number in %q", f.name, v, m[0])
			}
		}
	}
	for _, h := range []string{"machine:  ", "database: ", "seeded:   200 users in 2 organizations", "hashes:   every seeded user has the same argon2id PHC string (m=19456 KiB, t=2, p=1)"} {
		if !strings.Contains(out, "\n"+h) && !strings.HasPrefix(out, h) {
			t.Errorf("no line %q", h)
		}
	}
	if t.Failed() {
		t.Logf("output:\n%s", out)
	}
}

// tiny are the settings of the tests: a second a round, one round.
var tiny = []string{"-users", "200", "-rounds", "1", "-seconds", "1", "-flood", "100", "-codes", "200"}

// gatehouseBinary builds the server; with -short the main-path tests,
// which take half a minute or more each, are skipped.
func gatehouseBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the server for half a minute or more")
	}
	var log bytes.Buffer
	bin, err := buildGatehouse(t.Context(), t.TempDir(), &log)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	return bin
}

func TestTheBenchmarkPrintsEveryFigureOnSQLite(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(t.Context(), append([]string{"-gatehouse", gatehouseBinary(t)}, tiny...), &out, &errOut); code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut.String())
	}
	checkTable(t, out.String())
	if !strings.Contains(out.String(), "\ndatabase: SQLite") {
		t.Errorf("the database is not named SQLite:\n%s", out.String())
	}
}

func TestTheBenchmarkPrintsEveryFigureOnPostgreSQLAndDropsItsDatabase(t *testing.T) {
	server := os.Getenv("GATEHOUSE_TEST_POSTGRES_URL")
	if server == "" {
		t.Skip("GATEHOUSE_TEST_POSTGRES_URL is not set")
	}
	var out, errOut bytes.Buffer
	if code := run(t.Context(), append([]string{"-gatehouse", gatehouseBinary(t), "-postgres", server}, tiny...), &out, &errOut); code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut.String())
	}
	checkTable(t, out.String())
	m := regexp.MustCompile(`\ndatabase: PostgreSQL .+, scratch database (gatehouse_bench_[0-9a-f]+)\n`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no PostgreSQL scratch database named:\n%s", out.String())
	}
	db, err := sql.Open("pgx", server)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(t.Context(), "SELECT count(*) FROM pg_database WHERE datname = $1", m[1]).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("the scratch database %s is still there", m[1])
	}
}

func TestBadFlagsAreRefused(t *testing.T) {
	for _, args := range [][]string{{"-users", "1"}, {"-rounds", "0"}, {"-seconds", "0"}, {"-clients", "0"}, {"extra"}, {"-argon2-memory", "1"}} {
		var out, errOut bytes.Buffer
		code := run(t.Context(), append(args, "-gatehouse", "/nonexistent"), &out, &errOut)
		if code == 0 || !strings.HasPrefix(errOut.String(), "gatehouse-bench: ") {
			t.Errorf("%v: exit %d, %q; want refused with a message", args, code, errOut.String())
		}
	}
}

// measure repeats disturbed rounds, at most to twice the rounds, and takes
// the quiet ones.
func TestDisturbedRoundsAreRepeatedAtMostToTwiceTheRounds(t *testing.T) {
	count := func(threshold float64) series {
		m := &meter{threshold: threshold}
		s, err := m.measure(3, nil, func(attempt int) (round, error) {
			time.Sleep(20 * time.Millisecond)
			return round{product: float64(attempt)}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if s := count(-1); s.attempts != 6 || s.disturbed != 6 || len(s.used) != 3 {
		t.Errorf("every round disturbed: %d run, %d disturbed, %d used; want 6, 6, 3", s.attempts, s.disturbed, len(s.used))
	}
	if s := count(1000); s.attempts != 3 || s.disturbed != 0 || len(s.used) != 3 {
		t.Errorf("no round disturbed: %d run, %d disturbed, %d used; want 3, 0, 3", s.attempts, s.disturbed, len(s.used))
	}
}
