package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDevModeAndTheDemoListenOnLoopbackOnly(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{":0", "0.0.0.0:0", "[::]:0", "192.0.2.10:0", "login.example.test:0"} {
		t.Run("serve --dev refuses "+addr, func(t *testing.T) {
			te := newTestEnv(t)
			code, _, errOut := te.cli("", "serve", "--dev", "--addr", addr)
			if code != 2 || !strings.Contains(errOut, "loopback") || !strings.Contains(errOut, addr) {
				t.Errorf("exit %d, %q; want 2 naming the address and loopback", code, errOut)
			}
		})
		t.Run("demo refuses "+addr, func(t *testing.T) {
			te := newTestEnv(t)
			code, _, errOut := te.cli("", "demo", "--addr", addr, "--data-dir", filepath.Join(te.dir, "demo"))
			if code != 2 || !strings.Contains(errOut, "loopback") {
				t.Errorf("exit %d, %q; want 2 naming loopback", code, errOut)
			}
			if _, err := os.Stat(filepath.Join(te.dir, "demo")); err == nil {
				t.Error("the refused demo made its data folder")
			}
		})
	}
	for _, addr := range []string{"127.0.0.1:0", "[::1]:0", "localhost:0"} {
		if !loopbackAddr(addr) {
			t.Errorf("%s is loopback but was refused", addr)
		}
	}
}

func TestDevModeWarnsAtEveryStart(t *testing.T) {
	t.Parallel()
	te := newTestEnv(t)
	te.serve("--dev")
	if !strings.Contains(te.logs.String(), "dev mode: every code and password link is shown at /dev/outbox") {
		t.Errorf("no warning in the logs:\n%s", te.logs.String())
	}
}

func TestDevModeWithRealMailNeverSendsSMSCodesToTheOutbox(t *testing.T) {
	t.Parallel()
	te := newTestEnv(t) // a real SMTP server is configured
	te.mustCLI("", "org", "create", "--slug", "clinic", "--name", "Clinic")
	te.mustCLI("", append([]string{"org", "settings", "--org", "clinic", "--otp-method", "sms"}, smsWebhookFlags...)...)
	code, _, errOut := te.cli("", "serve", "--dev", "--addr", "127.0.0.1:0")
	if code != 2 || !strings.Contains(errOut, "--sms-provider") {
		t.Errorf("dev mode with SMTP, an SMS organization and no SMS provider: exit %d, %q; want the start refused", code, errOut)
	}
}

func TestASecretKeyFileOthersCanReadIsRefused(t *testing.T) {
	t.Parallel()
	te := newTestEnv(t)
	key := te.vars["GATEHOUSE_SECRET_KEY_FILE"]
	for _, mode := range []os.FileMode{0o644, 0o604, 0o660, 0o666} {
		if err := os.Chmod(key, mode); err != nil {
			t.Fatal(err)
		}
		code, _, errOut := te.cli("", "serve", "--addr", "127.0.0.1:0")
		if code != 2 || !strings.Contains(errOut, "chmod 600") {
			t.Errorf("mode %04o: exit %d, %q; want refused", mode, code, errOut)
		}
	}
	if err := os.Chmod(key, 0o640); err != nil {
		t.Fatal(err)
	}
	te.serve() // group read is fine
}
