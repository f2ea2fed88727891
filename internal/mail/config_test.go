package mail

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestParseURLAccepts(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want Config
	}{
		{
			name: "smtp with credentials uses STARTTLS on the given port",
			raw:  "smtp://user:pass@mail.example.com:2587",
			want: Config{Host: "mail.example.com", Port: 2587, Security: StartTLS, Username: "user", Password: "pass"},
		},
		{
			name: "smtp without a port defaults to 587",
			raw:  "smtp://user:pass@mail.example.com",
			want: Config{Host: "mail.example.com", Port: 587, Security: StartTLS, Username: "user", Password: "pass"},
		},
		{
			name: "smtps without a port defaults to 465 with implicit TLS",
			raw:  "smtps://user:pass@mail.example.com",
			want: Config{Host: "mail.example.com", Port: 465, Security: ImplicitTLS, Username: "user", Password: "pass"},
		},
		{
			name: "the user name and password are percent-decoded",
			raw:  "smtp://apikey%40example.com:p%40ss%3Aw%2Frd%25@mail.example.com:587",
			want: Config{Host: "mail.example.com", Port: 587, Security: StartTLS, Username: "apikey@example.com", Password: "p@ss:w/rd%"},
		},
		{
			name: "no credentials means no AUTH",
			raw:  "smtp://mail.example.com",
			want: Config{Host: "mail.example.com", Port: 587, Security: StartTLS},
		},
		{
			name: "the scheme is case-insensitive and a trailing slash is fine",
			raw:  "SMTPS://mail.example.com:10465/",
			want: Config{Host: "mail.example.com", Port: 10465, Security: ImplicitTLS},
		},
		{
			name: "tls=none to 127.0.0.1 is plain text",
			raw:  "smtp://127.0.0.1:1025?tls=none",
			want: Config{Host: "127.0.0.1", Port: 1025, Security: NoTLS},
		},
		{
			name: "tls=none to localhost is plain text",
			raw:  "smtp://LocalHost:25?tls=none",
			want: Config{Host: "LocalHost", Port: 25, Security: NoTLS},
		},
		{
			name: "tls=none to ::1 is plain text",
			raw:  "smtp://[::1]:1025?tls=none",
			want: Config{Host: "::1", Port: 1025, Security: NoTLS},
		},
		{
			name: "tls=none to any 127/8 address is plain text",
			raw:  "smtp://u:p@127.0.0.53:1025?tls=none",
			want: Config{Host: "127.0.0.53", Port: 1025, Security: NoTLS, Username: "u", Password: "p"},
		},
		{
			name: "an IPv6 host keeps its address",
			raw:  "smtp://[2001:db8::25]:587",
			want: Config{Host: "2001:db8::25", Port: 587, Security: StartTLS},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseURL(tt.raw)
			if err != nil {
				t.Fatalf("ParseURL(%q): %v", tt.raw, err)
			}
			if *got != tt.want {
				t.Errorf("ParseURL(%q)\n got %#v (password %q)\nwant %#v (password %q)", tt.raw, got, got.Password, tt.want, tt.want.Password)
			}
		})
	}
}

func TestParseURLRefuses(t *testing.T) {
	// Every URL carries this password where it has one; no error may show it.
	const secret = "s3cr3t-Pw"
	tests := []struct {
		name string
		raw  string
		want string // a piece of the error message that says why
	}{
		{"an empty URL is refused", "", "empty"},
		{"tls=none to a remote host is refused, saying why", "smtp://u:" + secret + "@mail.example.com:25?tls=none", "loopback"},
		{"tls=none to a private address is refused", "smtp://u:" + secret + "@192.168.1.10:25?tls=none", "loopback"},
		{"tls=none to a name that only resolves to loopback is refused", "smtp://u:" + secret + "@localhost.example.com:25?tls=none", "loopback"},
		{"tls=none with smtps is refused as a contradiction", "smtps://u:" + secret + "@127.0.0.1:465?tls=none", "contradicts"},
		{"another tls value is refused", "smtp://u:" + secret + "@mail.example.com?tls=starttls", "tls=none"},
		{"tls given twice is refused", "smtp://u:" + secret + "@127.0.0.1?tls=none&tls=none", "tls=none"},
		{"an unknown query parameter is refused by name", "smtp://u:" + secret + "@mail.example.com?timeout=5s", `"timeout"`},
		{"another scheme is refused", "http://u:" + secret + "@mail.example.com", `"http"`},
		{"a URL without a scheme is refused", "mail.example.com:587", "scheme"},
		{"a URL without a host is refused", "smtp://u:" + secret + "@:587", "no host"},
		{"a port that is not a number is refused", "smtp://u:" + secret + "@mail.example.com:smtp", "not a valid URL"},
		{"a port out of range is refused", "smtp://u:" + secret + "@mail.example.com:70000", "70000"},
		{"port zero is refused", "smtp://u:" + secret + "@mail.example.com:0", `"0"`},
		{"a path is refused", "smtp://u:" + secret + "@mail.example.com/inbox", "path"},
		{"a fragment is refused", "smtp://u:" + secret + "@mail.example.com#x", "fragment"},
		{"a password without a user name is refused", "smtp://:" + secret + "@mail.example.com", "no user name"},
		{"a user name without a password is refused", "smtp://user@mail.example.com", "no password"},
		{"an unencoded space in the password is refused without quoting it", "smtp://u:" + secret + " x@mail.example.com", "percent-encoded"},
		{"a bad escape in the password is refused without quoting it", "smtp://u:" + secret + "%zz@mail.example.com", "percent-encoded"},
		{"an opaque URL is refused", "smtp:u:" + secret + "@mail.example.com", "smtp://host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := ParseURL(tt.raw)
			if err == nil {
				t.Fatalf("ParseURL(%q) = %v, want an error", tt.raw, cfg)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}

func TestConfigHidesThePassword(t *testing.T) {
	cfg, err := ParseURL("smtps://apikey:s3cr3t-Pw@mail.example.com")
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("configured", "smtp", cfg, "smtp_value", *cfg)

	tests := []struct {
		name string
		text string
	}{
		{"String shows the URL without the password", cfg.String()},
		{"%v of a pointer hides it", fmt.Sprintf("%v", cfg)},
		{"%+v of a value hides it", fmt.Sprintf("%+v", *cfg)},
		{"%#v hides it", fmt.Sprintf("%#v", cfg)},
		{"log/slog hides it", logged.String()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if strings.Contains(tt.text, "s3cr3t") {
				t.Errorf("%q shows the password", tt.text)
			}
			if !strings.Contains(tt.text, "smtps://apikey:xxxxx@mail.example.com:465") {
				t.Errorf("%q does not show the redacted URL", tt.text)
			}
		})
	}
}

func TestConfigStringRoundTrips(t *testing.T) {
	for _, raw := range []string{
		"smtp://mail.example.com:587",
		"smtps://mail.example.com:465",
		"smtp://127.0.0.1:1025?tls=none",
		"smtp://[::1]:1025?tls=none",
	} {
		t.Run(raw+" prints as itself", func(t *testing.T) {
			cfg, err := ParseURL(raw)
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.String(); got != raw {
				t.Errorf("String() = %q, want %q", got, raw)
			}
		})
	}
}
