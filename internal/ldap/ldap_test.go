package ldap

import (
	"context"
	"errors"
	"github.com/gatehousehq/gatehouse/internal/ldap/ldaptest"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
)

var (
	ada = Entry{
		DN:    "uid=ada,ou=people,dc=example,dc=test",
		Email: "ada@example.test",
		Name:  "Ada Lovelace",
		Phone: "+358401234567",
	}
	bob = Entry{
		DN:    "uid=bob,ou=people,dc=example,dc=test",
		Email: "bob@example.test",
		Name:  "Bob Builder",
	}
	pat = Entry{
		DN:    `uid=o\2Cbrien,ou=people,dc=example,dc=test`, // as slapd spells it
		Email: "pat@example.test",
		Name:  "Pat O'Brien",
	}
)

func templateConfig(srv *ldaptest.Slapd) Config {
	return Config{
		URL:            srv.URL,
		CACertPEM:      srv.CAPEM,
		BindDNTemplate: "uid={username},ou=people,dc=example,dc=test",
	}
}

func searchConfig(srv *ldaptest.Slapd) Config {
	return Config{
		URL:             srv.URL,
		CACertPEM:       srv.CAPEM,
		ServiceDN:       ldaptest.ServiceDN,
		ServicePassword: ldaptest.ServicePassword,
		SearchBase:      ldaptest.PeopleBase,
		SearchFilter:    "(&(objectClass=inetOrgPerson)(|(uid={username})(mail={username})))",
	}
}

func mustNew(t *testing.T, cfg Config) *Directory {
	t.Helper()
	d, err := New(cfg)
	if err != nil {
		t.Fatalf("New(%v): %v", cfg, err)
	}
	return d
}

func wantEntry(t *testing.T, d *Directory, username, password string, want Entry) {
	t.Helper()
	got, err := d.Authenticate(context.Background(), username, password)
	if err != nil {
		t.Fatalf("Authenticate(%q): %v", username, err)
	}
	if !strings.HasPrefix(got.ExternalID, "uuid:") {
		t.Errorf("Authenticate(%q): ExternalID %q, want the entryUUID slapd gives every entry", username, got.ExternalID)
	}
	if g := withoutExternalID(*got); g != want {
		t.Errorf("Authenticate(%q) = %+v, want %+v", username, g, want)
	}
}

// withoutExternalID drops the entryUUID, which slapd makes at each load.
func withoutExternalID(e Entry) Entry {
	e.ExternalID = ""
	return e
}

// wantInvalid checks for ErrInvalidCredentials itself, not merely an error
// wrapping it: callers may compare with ==.
func wantInvalid(t *testing.T, d *Directory, username, password string) {
	t.Helper()
	got, err := d.Authenticate(context.Background(), username, password)
	if err != ErrInvalidCredentials {
		t.Fatalf("Authenticate(%q) = %+v, %v; want ErrInvalidCredentials", username, got, err)
	}
	if got != nil {
		t.Errorf("Authenticate(%q) returned an entry with its error: %+v", username, *got)
	}
}

func wantUnavailable(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("err = %v, want one wrapping ErrUnavailable", err)
	}
	if errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("err = %v wraps ErrInvalidCredentials too", err)
	}
	if code := gatehouse.ErrorCode(err); code != gatehouse.EUNAVAILABLE {
		t.Errorf("ErrorCode(err) = %q, want %q", code, gatehouse.EUNAVAILABLE)
	}
}

func TestAuthenticateAgainstSlapd(t *testing.T) {
	srv := ldaptest.Start(t)
	byTemplate := mustNew(t, templateConfig(srv))
	bySearch := mustNew(t, searchConfig(srv))
	modes := []struct {
		name string
		d    *Directory
	}{
		{"bind-DN mode", byTemplate},
		{"search mode", bySearch},
	}

	for _, m := range modes {
		t.Run(m.name+" signs ada in with her attributes", func(t *testing.T) {
			wantEntry(t, m.d, "ada", ldaptest.AdaPassword, ada)
		})
		t.Run(m.name+" signs bob in without a phone", func(t *testing.T) {
			wantEntry(t, m.d, "bob", ldaptest.BobPassword, bob)
		})
		t.Run(m.name+" escapes a comma in the login name", func(t *testing.T) {
			wantEntry(t, m.d, "o,brien", ldaptest.CommaPassword, pat)
		})
		t.Run(m.name+" refuses a wrong password", func(t *testing.T) {
			wantInvalid(t, m.d, "ada", "not-"+ldaptest.AdaPassword)
		})
		t.Run(m.name+" refuses another user's password", func(t *testing.T) {
			wantInvalid(t, m.d, "ada", ldaptest.BobPassword)
		})
		t.Run(m.name+" refuses an unknown user", func(t *testing.T) {
			wantInvalid(t, m.d, "nobody", ldaptest.AdaPassword)
		})
		t.Run(m.name+" refuses an empty password", func(t *testing.T) {
			wantInvalid(t, m.d, "ada", "")
		})
		t.Run(m.name+" refuses the service account's DN as a login name", func(t *testing.T) {
			wantInvalid(t, m.d, "gatehouse,ou=services", ldaptest.ServicePassword)
			wantInvalid(t, m.d, ldaptest.ServiceDN, ldaptest.ServicePassword)
		})
	}

	t.Run("search mode signs ada in by e-mail address", func(t *testing.T) {
		wantEntry(t, bySearch, "ada@example.test", ldaptest.AdaPassword, ada)
	})
	t.Run("search mode refuses a login name that matches two entries", func(t *testing.T) {
		wantInvalid(t, bySearch, "twins@example.test", ldaptest.TwinPassword)
	})

	// Wildcards and filter syntax in the login name must be matched
	// literally: none of these is anybody's uid or mail.
	injections := []string{
		"*",
		"a*",
		"ada)(uid=*",
		"*)(|(uid=*",
		"ada)(|(objectClass=*",
		"*)(mail=*",
		`ada\2a`,
		"ada\x00",
		"uid=ada,ou=people,dc=example,dc=test",
		"ada,ou=people,dc=example,dc=test",
		"ada+cn=Ada Lovelace",
		"#ada",
	}
	for _, m := range modes {
		t.Run(m.name+" matches login names literally", func(t *testing.T) {
			for _, name := range injections {
				for _, pw := range []string{ldaptest.AdaPassword, ldaptest.BobPassword, ldaptest.TwinPassword} {
					got, err := m.d.Authenticate(context.Background(), name, pw)
					if err != ErrInvalidCredentials {
						t.Errorf("Authenticate(%q, %q) = %+v, %v; want ErrInvalidCredentials", name, pw, got, err)
					}
				}
			}
		})
	}

	t.Run("a wrong service password is unavailable, not invalid credentials", func(t *testing.T) {
		cfg := searchConfig(srv)
		cfg.ServicePassword = "wrong"
		_, err := mustNew(t, cfg).Authenticate(context.Background(), "ada", ldaptest.AdaPassword)
		wantUnavailable(t, err)
		if strings.Contains(err.Error(), ldaptest.AdaPassword) || strings.Contains(err.Error(), "wrong") {
			t.Errorf("the error quotes a password: %v", err)
		}
	})
	t.Run("a search base that does not exist is unavailable", func(t *testing.T) {
		cfg := searchConfig(srv)
		cfg.SearchBase = "ou=nowhere,dc=example,dc=test"
		_, err := mustNew(t, cfg).Authenticate(context.Background(), "ada", ldaptest.AdaPassword)
		wantUnavailable(t, err)
	})
	t.Run("attribute names are configurable", func(t *testing.T) {
		for _, cfg := range []Config{templateConfig(srv), searchConfig(srv)} {
			cfg.EmailAttr, cfg.NameAttr, cfg.PhoneAttr = "uid", "SN", "description"
			want := Entry{DN: ada.DN, Email: "ada", Name: "Lovelace"}
			wantEntry(t, mustNew(t, cfg), "ada", ldaptest.AdaPassword, want)
		}
	})

	t.Run("StartTLS with the right CA works", func(t *testing.T) {
		// templateConfig uses ldap:// and the CA: every test above went
		// through StartTLS. This one says so.
		wantEntry(t, byTemplate, "ada", ldaptest.AdaPassword, ada)
	})
	t.Run("StartTLS with a wrong CA is unavailable", func(t *testing.T) {
		other, _ := ldaptest.SelfSignedCert(t)
		for _, cfg := range []Config{templateConfig(srv), searchConfig(srv)} {
			cfg.CACertPEM = string(other)
			_, err := mustNew(t, cfg).Authenticate(context.Background(), "ada", ldaptest.AdaPassword)
			wantUnavailable(t, err)
		}
	})
	t.Run("StartTLS with the system roots refuses the test certificate", func(t *testing.T) {
		cfg := templateConfig(srv)
		cfg.CACertPEM = ""
		_, err := mustNew(t, cfg).Authenticate(context.Background(), "ada", ldaptest.AdaPassword)
		wantUnavailable(t, err)
	})
	t.Run("ldaps with the right CA works", func(t *testing.T) {
		for _, cfg := range []Config{templateConfig(srv), searchConfig(srv)} {
			cfg.URL = srv.LDAPSURL
			d := mustNew(t, cfg)
			wantEntry(t, d, "ada", ldaptest.AdaPassword, ada)
			wantInvalid(t, d, "ada", ldaptest.BobPassword)
		}
	})
	t.Run("ldaps with a wrong CA is unavailable", func(t *testing.T) {
		other, _ := ldaptest.SelfSignedCert(t)
		cfg := templateConfig(srv)
		cfg.URL, cfg.CACertPEM = srv.LDAPSURL, string(other)
		_, err := mustNew(t, cfg).Authenticate(context.Background(), "ada", ldaptest.AdaPassword)
		wantUnavailable(t, err)
	})
	t.Run("plain ldap to loopback works with InsecureNoTLS, whatever the CA", func(t *testing.T) {
		other, _ := ldaptest.SelfSignedCert(t)
		for _, cfg := range []Config{templateConfig(srv), searchConfig(srv)} {
			cfg.InsecureNoTLS, cfg.CACertPEM = true, string(other)
			wantEntry(t, mustNew(t, cfg), "ada", ldaptest.AdaPassword, ada)
		}
	})
	t.Run("concurrent sign-ins do not mix up users", func(t *testing.T) {
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				d, name, pw, want := byTemplate, "ada", ldaptest.AdaPassword, ada
				if i%2 == 1 {
					d, name, pw, want = bySearch, "bob", ldaptest.BobPassword, bob
				}
				got, err := d.Authenticate(context.Background(), name, pw)
				if err != nil || withoutExternalID(*got) != want {
					t.Errorf("Authenticate(%q) = %+v, %v; want %+v", name, got, err, want)
				}
			})
		}
		wg.Wait()
	})
}

func TestDirectoryDownIsUnavailable(t *testing.T) {
	srv := ldaptest.Start(t)
	d := mustNew(t, templateConfig(srv))
	wantEntry(t, d, "ada", ldaptest.AdaPassword, ada)

	srv.Stop(t)
	start := time.Now()
	got, err := d.Authenticate(context.Background(), "ada", ldaptest.AdaPassword)
	if got != nil {
		t.Fatalf("a stopped directory signed ada in: %+v", *got)
	}
	wantUnavailable(t, err)
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Errorf("took %s to notice a stopped directory", elapsed)
	}
}

// silentServer accepts TCP connections and never says a word.
func silentServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

func TestUnreachableDirectoryIsUnavailable(t *testing.T) {
	const timeout = 300 * time.Millisecond
	silent := silentServer(t)

	// A port that was free a moment ago: nothing answers there.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()

	tests := []struct {
		name     string
		url      string
		insecure bool
		within   time.Duration
	}{
		{"a closed port", "ldap://" + closed, true, 100 * time.Millisecond},
		{"a closed port with StartTLS", "ldap://" + closed, false, 100 * time.Millisecond},
		{"a silent server without TLS", "ldap://" + silent, true, timeout},
		{"a silent server with StartTLS", "ldap://" + silent, false, timeout},
		{"a silent server with ldaps", "ldaps://" + silent, false, timeout},
	}
	for _, tt := range tests {
		for _, mode := range []string{"bind-DN", "search"} {
			t.Run(tt.name+" in "+mode+" mode", func(t *testing.T) {
				t.Parallel()
				cfg := Config{URL: tt.url, InsecureNoTLS: tt.insecure, Timeout: timeout,
					BindDNTemplate: "uid={username},ou=people,dc=example,dc=test"}
				if mode == "search" {
					cfg.BindDNTemplate = ""
					cfg.ServiceDN, cfg.ServicePassword = ldaptest.ServiceDN, ldaptest.ServicePassword
					cfg.SearchBase, cfg.SearchFilter = ldaptest.PeopleBase, "(uid={username})"
				}
				start := time.Now()
				_, err := mustNew(t, cfg).Authenticate(context.Background(), "ada", ldaptest.AdaPassword)
				elapsed := time.Since(start)
				wantUnavailable(t, err)
				// Generous slack for a loaded machine, but far below the
				// 5 s default: the configured timeout is what counts.
				if elapsed > tt.within+time.Second {
					t.Errorf("took %s, want about %s", elapsed, tt.within)
				}
				if strings.Contains(err.Error(), ldaptest.AdaPassword) || strings.Contains(err.Error(), ldaptest.ServicePassword) {
					t.Errorf("the error quotes a password: %v", err)
				}
			})
		}
	}
}

func TestContextEndsTheSignIn(t *testing.T) {
	silent := silentServer(t)
	d := mustNew(t, Config{
		URL:            "ldap://" + silent,
		InsecureNoTLS:  true,
		Timeout:        MaxTimeout,
		BindDNTemplate: "uid={username},ou=people,dc=example,dc=test",
	})

	t.Run("a deadline sooner than the timeout wins", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := d.Authenticate(ctx, "ada", ldaptest.AdaPassword)
		wantUnavailable(t, err)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want one wrapping context.DeadlineExceeded", err)
		}
		if elapsed := time.Since(start); elapsed > 2*time.Second {
			t.Errorf("took %s, want about 200ms", elapsed)
		}
	})
	t.Run("cancelling stops a waiting sign-in", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		start := time.Now()
		_, err := d.Authenticate(ctx, "ada", ldaptest.AdaPassword)
		wantUnavailable(t, err)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want one wrapping context.Canceled", err)
		}
		if elapsed := time.Since(start); elapsed > 2*time.Second {
			t.Errorf("took %s, want about 100ms", elapsed)
		}
	})
	t.Run("an ended context does not dial", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := d.Authenticate(ctx, "ada", ldaptest.AdaPassword)
		wantUnavailable(t, err)
	})
}

// TestRefusedBeforeDialing checks that input that cannot be right is answered
// without contacting the directory — above all the empty password, which
// many servers take as an unauthenticated bind and accept.
func TestRefusedBeforeDialing(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, cfg := range []Config{
		{URL: "ldap://" + l.Addr().String(), InsecureNoTLS: true,
			BindDNTemplate: "uid={username},ou=people,dc=example,dc=test"},
		{URL: "ldap://" + l.Addr().String(), InsecureNoTLS: true,
			ServiceDN: ldaptest.ServiceDN, ServicePassword: ldaptest.ServicePassword,
			SearchBase: ldaptest.PeopleBase, SearchFilter: "(uid={username})"},
	} {
		d := mustNew(t, cfg)
		for _, tt := range []struct{ name, username, password string }{
			{"an empty password", "ada", ""},
			{"an empty login name", "", ldaptest.AdaPassword},
			{"a login name with a newline", "ada\n", ldaptest.AdaPassword},
			{"a login name with a NUL", "ada\x00", ldaptest.AdaPassword},
			{"a login name with DEL", "ada\x7f", ldaptest.AdaPassword},
			{"a login name with a C1 control", "ada\u0085", ldaptest.AdaPassword},
			{"a login name that is not UTF-8", "ada\xff", ldaptest.AdaPassword},
			{"a login name of 257 bytes", strings.Repeat("a", MaxUsernameLen+1), ldaptest.AdaPassword},
		} {
			got, err := d.Authenticate(context.Background(), tt.username, tt.password)
			if err != ErrInvalidCredentials || got != nil {
				t.Errorf("%s: Authenticate = %+v, %v; want ErrInvalidCredentials", tt.name, got, err)
			}
		}
	}

	// Connections queue in order: if the first one accepted is ours, made
	// after every call above, none of those calls connected.
	sentinel, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer sentinel.Close()
	first, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	if got, want := first.RemoteAddr().String(), sentinel.LocalAddr().String(); got != want {
		t.Errorf("the first connection came from %s, not the sentinel %s: something dialed the directory", got, want)
	}
}

func TestUsernameLimitIsInclusive(t *testing.T) {
	if !validUsername(strings.Repeat("a", MaxUsernameLen)) {
		t.Errorf("a login name of exactly %d bytes was refused", MaxUsernameLen)
	}
	if !validUsername("Zoë O'Brien") {
		t.Error("a login name with non-ASCII letters was refused")
	}
}
