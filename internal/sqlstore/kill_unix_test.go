//go:build unix

package sqlstore

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/gatehousehq/gatehouse"
)

// killChildEnv names the database a re-executed test binary writes to
// until it is killed (TestAcknowledgedWritesSurviveAKill).
const killChildEnv = "GATEHOUSE_TEST_KILL_CHILD_DB"

// TestMain lets the test binary be the process that is killed.
func TestMain(m *testing.M) {
	if path := os.Getenv(killChildEnv); path != "" {
		writeUntilKilled(path)
		return
	}
	os.Exit(m.Run())
}

// writeUntilKilled saves organizations one by one and prints each slug
// once its transaction is committed: what the server acknowledges.
func writeUntilKilled(path string) {
	ctx := context.Background()
	db, err := Open(ctx, "sqlite:"+path)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	for i := 0; ; i++ {
		org := &gatehouse.Organization{ID: gatehouse.NewID(), Slug: fmt.Sprintf("org-%d", i), Name: "Org", Settings: gatehouse.DefaultPasswordSettings()}
		if err := db.CreateOrganization(ctx, org); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println(org.Slug)
	}
}

// SQLite runs with synchronous=NORMAL in WAL mode: every write the store
// acknowledged survives the process being killed (kill -9) mid-write; only
// a loss of power can cost the last ones (docs/security.md).
func TestAcknowledgedWritesSurviveAKill(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kill.db")
	db, err := Open(t.Context(), "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	db.Close()

	cmd := exec.Command(os.Args[0], "-test.run", "^$")
	cmd.Env = append(os.Environ(), killChildEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked []string
	lines := bufio.NewScanner(out)
	for len(acked) < 300 && lines.Scan() {
		acked = append(acked, lines.Text())
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if len(acked) < 300 || acked[0] != "org-0" {
		t.Fatalf("the writer acknowledged %d writes: %v", len(acked), acked[:min(len(acked), 3)])
	}

	db, err = Open(t.Context(), "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, slug := range acked {
		if _, err := db.OrganizationBySlug(t.Context(), slug); err != nil {
			t.Fatalf("acknowledged %s is gone after the kill: %v", slug, err)
		}
	}
}
