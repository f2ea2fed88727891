package main

import (
	"strings"
	"testing"
)

func TestSecretsNeverCrossTheNetworkInClear(t *testing.T) {
	t.Parallel()
	te := newTestEnv(t)

	refused := []struct {
		name string
		vars map[string]string
		want string
	}{
		{"PostgreSQL with no sslmode (pgx prefers TLS but falls back to plain)",
			map[string]string{"GATEHOUSE_DATABASE_URL": "postgres://gatehouse:pw@db.example.test/gatehouse"}, "sslmode=verify-full"},
		{"PostgreSQL with sslmode=disable",
			map[string]string{"GATEHOUSE_DATABASE_URL": "postgres://gatehouse@192.0.2.5:5432/gatehouse?sslmode=disable"}, "192.0.2.5"},
		{"PostgreSQL with sslmode=allow",
			map[string]string{"GATEHOUSE_DATABASE_URL": "postgres://gatehouse@db.example.test/gatehouse?sslmode=allow"}, "without TLS"},
		{"Twilio over plain http to another host",
			map[string]string{"GATEHOUSE_SMS_PROVIDER": "twilio", "GATEHOUSE_TWILIO_ACCOUNT_SID": "AC0123456789abcdef0123456789abcdef",
				"GATEHOUSE_TWILIO_AUTH_TOKEN": "tok", "GATEHOUSE_TWILIO_FROM": "+358401234567", "GATEHOUSE_TWILIO_API_URL": "http://sms.example.test"}, "--twilio-api-url"},
		{"an SMS webhook over plain http to another host",
			map[string]string{"GATEHOUSE_SMS_PROVIDER": "webhook", "GATEHOUSE_SMS_WEBHOOK_URL": "http://192.0.2.9/sms",
				"GATEHOUSE_SMS_WEBHOOK_SECRET": strings.Repeat("s", 32)}, "--sms-webhook-url"},
	}
	for _, tc := range refused {
		t.Run("serve refuses "+tc.name, func(t *testing.T) {
			saved := map[string]string{}
			for k, v := range tc.vars {
				saved[k] = te.vars[k]
				te.vars[k] = v
			}
			defer func() {
				for k, v := range saved {
					te.vars[k] = v
				}
			}()
			code, _, errOut := te.cli("", "serve", "--addr", "127.0.0.1:0")
			if code != 2 || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, %q; want 2 mentioning %q", code, errOut, tc.want)
			}
			if strings.Contains(errOut, "pw@") {
				t.Errorf("the database password is in the message: %q", errOut)
			}
		})
	}

	for _, ok := range []string{
		"postgres://gatehouse@db.example.test/gatehouse?sslmode=verify-full",
		"postgres://gatehouse@db.example.test/gatehouse?sslmode=require",
		"postgres://postgres@127.0.0.1:5432/test?sslmode=disable",
		"postgres://postgres@localhost/test?sslmode=disable",
		"postgres://postgres@[::1]/test",
		"postgres:///gatehouse?host=/var/run/postgresql",
		"sqlite:gatehouse.db",
	} {
		if err := checkDatabaseTLS(ok, false); err != nil {
			t.Errorf("%s was refused: %v", ok, err)
		}
	}
	if err := checkDatabaseTLS("postgres://gatehouse@db.example.test/gatehouse?sslmode=disable", true); err != nil {
		t.Errorf("dev mode refused a plain connection: %v", err)
	}
	for raw, want := range map[string]bool{
		"http://sms.example.test": true, "http://192.0.2.1:8080/x": true, "HTTP://sms.example.test": true,
		"https://sms.example.test": false, "http://127.0.0.1:9/x": false, "http://localhost/x": false, "http://[::1]/x": false,
	} {
		if got := plainToRemote(raw); got != want {
			t.Errorf("plainToRemote(%q) = %v, want %v", raw, got, want)
		}
	}
}
