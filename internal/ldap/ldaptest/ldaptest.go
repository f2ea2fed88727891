// Package ldaptest runs OpenLDAP's slapd for tests, on loopback ports with
// a small test tree. It is imported by tests only.
package ldaptest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"text/template"
	"time"
)

// The test tree. Every user's password is "<uid>-password" except where a
// test needs otherwise; the service account's is ServicePassword.
const (
	Suffix          = "dc=example,dc=test"
	PeopleBase      = "ou=people," + Suffix
	ServiceDN       = "cn=gatehouse,ou=services," + Suffix
	ServicePassword = "service-secret"
	AdaPassword     = "ada-password"
	BobPassword     = "bob-password"
	CommaPassword   = "comma-password"
	TwinPassword    = "twin-password"
)

// Slapd is an OpenLDAP slapd run by a test on loopback ports.
type Slapd struct {
	URL      string // ldap://127.0.0.1:port/, StartTLS offered
	LDAPSURL string // ldaps://127.0.0.1:port/
	CAPEM    string // the self-signed certificate both listeners present

	cmd    *exec.Cmd
	exited chan struct{}
	log    string
}

// requireTool finds an OpenLDAP program, or skips the test (fails it when
// GATEHOUSE_TEST_REQUIRE_LDAP is set, as in CI) when it is not installed.
func requireTool(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/usr/local/sbin", "/usr/libexec", "/usr/local/libexec"} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	msg := fmt.Sprintf("%s not found: install slapd and ldap-utils to run the LDAP tests", name)
	if os.Getenv("GATEHOUSE_TEST_REQUIRE_LDAP") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// dpkgFile returns the first file of Debian's slapd package whose path ends
// in Suffix, or "" when dpkg or the file is not there.
func dpkgFile(Suffix string) string {
	out, err := exec.Command("dpkg", "-L", "slapd").Output()
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasSuffix(line, Suffix) {
			return line
		}
	}
	return ""
}

func schemaDir(t testing.TB) string {
	t.Helper()
	candidates := []string{"/etc/ldap/schema", "/etc/openldap/schema", "/usr/local/etc/openldap/schema"}
	if f := dpkgFile("/core.schema"); f != "" {
		candidates = append([]string{filepath.Dir(f)}, candidates...)
	}
	for _, dir := range candidates {
		if _, err := os.Stat(filepath.Join(dir, "inetorgperson.schema")); err == nil {
			return dir
		}
	}
	t.Fatalf("slapd is installed but its schema files (core, cosine, inetorgperson, nis) are not in %v", candidates)
	return ""
}

// moduleDir returns where back_mdb.so is, or "" when slapd has it built in.
func moduleDir() string {
	if f := dpkgFile("/back_mdb.so"); f != "" {
		return filepath.Dir(f)
	}
	for _, dir := range []string{"/usr/lib/ldap", "/usr/lib/openldap", "/usr/lib64/openldap", "/usr/local/libexec/openldap"} {
		if _, err := os.Stat(filepath.Join(dir, "back_mdb.so")); err == nil {
			return dir
		}
	}
	return ""
}

var confTemplate = template.Must(template.New("slapd.conf").Parse(`
{{range .Schemas}}include {{.}}
{{end}}
pidfile {{.Dir}}/slapd.pid
argsfile {{.Dir}}/slapd.args
{{if .ModuleDir}}modulepath {{.ModuleDir}}
moduleload back_mdb
{{end}}
TLSCertificateFile {{.Dir}}/cert.pem
TLSCertificateKeyFile {{.Dir}}/key.pem

database mdb
maxsize 16777216
Suffix "dc=example,dc=test"
rootdn "cn=admin,dc=example,dc=test"
rootpw secret
directory {{.Dir}}/db
index uid eq
index mail eq

# Anyone may try a password; nobody reads one.
access to attrs=userPassword
	by anonymous auth
	by * none
# Users read their own entry; the service account searches everyone.
access to dn.subtree="ou=people,dc=example,dc=test"
	by self read
	by dn.exact="cn=gatehouse,ou=services,dc=example,dc=test" read
	by * none
access to *
	by * none
`))

var treeTemplate = template.Must(template.New("tree.ldif").Parse(`dn: dc=example,dc=test
objectClass: dcObject
objectClass: organization
dc: example
o: Example

dn: ou=people,dc=example,dc=test
objectClass: organizationalUnit
ou: people

dn: ou=services,dc=example,dc=test
objectClass: organizationalUnit
ou: services

dn: cn=gatehouse,ou=services,dc=example,dc=test
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: gatehouse
userPassword: {{.Service}}

dn: uid=ada,ou=people,dc=example,dc=test
objectClass: inetOrgPerson
uid: ada
cn: Ada Lovelace
sn: Lovelace
mail: ada@example.test
telephoneNumber: +358401234567
userPassword: {{.Ada}}

dn: uid=bob,ou=people,dc=example,dc=test
objectClass: inetOrgPerson
uid: bob
cn: Bob Builder
sn: Builder
mail: bob@example.test
userPassword: {{.Bob}}

dn: uid=o\,brien,ou=people,dc=example,dc=test
objectClass: inetOrgPerson
uid: o,brien
cn: Pat O'Brien
sn: O'Brien
mail: pat@example.test
userPassword: {{.Comma}}

dn: uid=twin1,ou=people,dc=example,dc=test
objectClass: inetOrgPerson
uid: twin1
cn: Twin One
sn: One
mail: twins@example.test
userPassword: {{.Twin}}

dn: uid=twin2,ou=people,dc=example,dc=test
objectClass: inetOrgPerson
uid: twin2
cn: Twin Two
sn: Two
mail: twins@example.test
userPassword: {{.Twin}}
`))

// Start runs slapd with the test tree on two free loopback ports, one
// ldap:// (StartTLS offered, not required) and one ldaps://, and stops it
// when the test ends.
func Start(t testing.TB) *Slapd {
	t.Helper()
	slapd := requireTool(t, "slapd")
	slapadd := requireTool(t, "slapadd")
	slappasswd := requireTool(t, "slappasswd")

	dir := t.TempDir()
	certPEM, keyPEM := SelfSignedCert(t)
	writeFile(t, filepath.Join(dir, "cert.pem"), certPEM, 0o644)
	writeFile(t, filepath.Join(dir, "key.pem"), keyPEM, 0o600)
	if err := os.Mkdir(filepath.Join(dir, "db"), 0o700); err != nil {
		t.Fatal(err)
	}

	sdir := schemaDir(t)
	var conf strings.Builder
	err := confTemplate.Execute(&conf, map[string]any{
		"Schemas": []string{
			filepath.Join(sdir, "core.schema"),
			filepath.Join(sdir, "cosine.schema"),
			filepath.Join(sdir, "inetorgperson.schema"),
			filepath.Join(sdir, "nis.schema"),
		},
		"Dir":       dir,
		"ModuleDir": moduleDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	confPath := filepath.Join(dir, "slapd.conf")
	writeFile(t, confPath, []byte(conf.String()), 0o600)

	hash := func(pw string) string {
		out, err := exec.Command(slappasswd, "-s", pw).Output()
		if err != nil {
			t.Fatalf("slappasswd: %v", err)
		}
		return strings.TrimSpace(string(out))
	}
	var tree strings.Builder
	err = treeTemplate.Execute(&tree, map[string]string{
		"Service": hash(ServicePassword),
		"Ada":     hash(AdaPassword),
		"Bob":     hash(BobPassword),
		"Comma":   hash(CommaPassword),
		"Twin":    hash(TwinPassword),
	})
	if err != nil {
		t.Fatal(err)
	}
	ldifPath := filepath.Join(dir, "tree.ldif")
	writeFile(t, ldifPath, []byte(tree.String()), 0o600)
	if out, err := exec.Command(slapadd, "-q", "-f", confPath, "-l", ldifPath).CombinedOutput(); err != nil {
		t.Fatalf("slapadd: %v\n%s", err, out)
	}

	// A port picked here may be taken by someone else before slapd binds
	// it; then slapd exits and we try again with new ports.
	var lastErr error
	for range 3 {
		s, err := runSlapd(slapd, confPath, dir)
		if err == nil {
			s.CAPEM = string(certPEM)
			t.Cleanup(func() { s.Stop(t) })
			return s
		}
		lastErr = err
	}
	t.Fatal(lastErr)
	return nil
}

func runSlapd(slapd, confPath, dir string) (*Slapd, error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	s := &Slapd{
		URL:      fmt.Sprintf("ldap://127.0.0.1:%d/", ports[0]),
		LDAPSURL: fmt.Sprintf("ldaps://127.0.0.1:%d/", ports[1]),
		exited:   make(chan struct{}),
		log:      filepath.Join(dir, "slapd.log"),
	}
	logFile, err := os.Create(s.log)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	// -d 0 keeps slapd in the foreground, so that it is our child and we
	// stop it by its pid, with no pidfile to trust.
	s.cmd = exec.Command(slapd, "-d", "0", "-f", confPath, "-h", s.URL+" "+s.LDAPSURL)
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start slapd: %w", err)
	}
	go func() {
		_ = s.cmd.Wait()
		close(s.exited)
	}()

	addr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-s.exited:
			return nil, fmt.Errorf("slapd exited at start (%v):\n%s", s.cmd.ProcessState, s.readLog())
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return s, nil
		}
		if time.Now().After(deadline) {
			s.kill()
			return nil, fmt.Errorf("slapd did not listen on %s within 10s:\n%s", addr, s.readLog())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop ends slapd with SIGTERM, then SIGKILL if it lingers. Calling it
// again does nothing.
func (s *Slapd) Stop(t testing.TB) {
	t.Helper()
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		t.Errorf("slapd (pid %d) did not stop within 5s of SIGTERM; killing it", s.cmd.Process.Pid)
		s.kill()
	}
}

func (s *Slapd) kill() {
	_ = s.cmd.Process.Kill()
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
	}
}

func (s *Slapd) readLog() string {
	b, _ := os.ReadFile(s.log)
	return string(b)
}

// freePorts returns n loopback ports that were free a moment ago.
func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func writeFile(t testing.TB, path string, data []byte, perm os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, data, perm); err != nil {
		t.Fatal(err)
	}
}

// SelfSignedCert returns a certificate for 127.0.0.1 that signs itself, so
// that it is its own CA, and its key, both PEM.
func SelfSignedCert(t testing.TB) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "gatehouse test directory"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
}
