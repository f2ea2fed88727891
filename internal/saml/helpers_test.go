package saml

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crewjam/saml/samlidp"
	"golang.org/x/net/html"
)

// memTracker is a RequestTracker in memory, for tests. With reusable set,
// Consume leaves the ID in place, as a tracker that is not single-use would:
// it lets a test reach the ReplayCache with a response seen before.
type memTracker struct {
	mu       sync.Mutex
	ids      map[string]time.Time
	hashes   map[string][]byte
	reusable bool
}

func newMemTracker() *memTracker {
	return &memTracker{ids: map[string]time.Time{}, hashes: map[string][]byte{}}
}

func (m *memTracker) Issue(_ context.Context, id string, browserHash []byte, until time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ids[id], m.hashes[id] = until, browserHash
	return nil
}

func (m *memTracker) Consume(_ context.Context, id string, now time.Time) ([]byte, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	until, ok := m.ids[id]
	hash := m.hashes[id]
	if !m.reusable {
		delete(m.ids, id)
		delete(m.hashes, id)
	}
	return hash, ok && now.Before(until), nil
}

// testNonce is the browser binding nonce of every test browser, unless a
// test posts with another (acs.postAs).
const testNonce = "dGVzdCBicm93c2VyIG5vbmNlIG9mIDMyIGJ5dGVzISE"

func (m *memTracker) until(id string) (time.Time, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.ids[id]
	return u, ok
}

func (m *memTracker) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.ids)
}

// memReplay is a ReplayCache in memory, for tests.
type memReplay struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

func newMemReplay() *memReplay { return &memReplay{seen: map[string]time.Time{}} }

func (m *memReplay) Remember(_ context.Context, id string, until time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.seen[id]; ok {
		return false, nil
	}
	m.seen[id] = until
	return true, nil
}

func (m *memReplay) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.seen)
}

// Fakes with function fields, for stores that fail.
type trackerFuncs struct {
	issue   func(ctx context.Context, id string, browserHash []byte, until time.Time) error
	consume func(ctx context.Context, id string, now time.Time) ([]byte, bool, error)
}

func (f trackerFuncs) Issue(ctx context.Context, id string, browserHash []byte, until time.Time) error {
	return f.issue(ctx, id, browserHash, until)
}

func (f trackerFuncs) Consume(ctx context.Context, id string, now time.Time) ([]byte, bool, error) {
	return f.consume(ctx, id, now)
}

type replayFunc func(ctx context.Context, id string, until time.Time) (bool, error)

func (f replayFunc) Remember(ctx context.Context, id string, until time.Time) (bool, error) {
	return f(ctx, id, until)
}

// testClock is a clock that a test moves.
type testClock struct{ offset atomic.Int64 }

func (c *testClock) now() time.Time            { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *testClock) advance(d time.Duration)   { c.offset.Store(int64(d)) }
func (c *testClock) reset()                    { c.offset.Store(0) }
func (c *testClock) nowFunc() func() time.Time { return c.now }

// Key pairs are slow to make under the race detector, so tests share them.
var (
	keysOnce sync.Once
	keyPairs [3]struct {
		key  *rsa.PrivateKey
		cert *x509.Certificate
	}
)

// keyPair returns the i-th shared key pair (0: the IdP's, 1: the SP's,
// 2: a stranger's).
func keyPair(i int) (*rsa.PrivateKey, *x509.Certificate) {
	keysOnce.Do(func() {
		for j, cn := range []string{"idp.test", "gatehouse.test", "stranger.test"} {
			var err error
			keyPairs[j].key, keyPairs[j].cert, err = NewKeyPair(nil, cn, time.Now())
			if err != nil {
				panic(err)
			}
		}
	})
	return keyPairs[i].key, keyPairs[i].cert
}

func testKeyPair(t testing.TB, i int) (*rsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	return keyPair(i)
}

// testIdP is crewjam's samlidp, a real IdP, on a loopback port.
type testIdP struct {
	srv *httptest.Server
	url string
}

// startIdP starts an IdP; mod, if not nil, may change it before it serves.
func startIdP(mod func(*samlidp.Server)) (*testIdP, error) {
	key, cert := keyPair(0)
	srv := httptest.NewUnstartedServer(nil)
	base, err := url.Parse("http://" + srv.Listener.Addr().String())
	if err != nil {
		return nil, err
	}
	idp, err := samlidp.New(samlidp.Options{
		URL:         *base,
		Key:         key,
		Certificate: cert,
		Store:       &samlidp.MemoryStore{},
		Logger:      log.New(io.Discard, "", 0),
	})
	if err != nil {
		return nil, err
	}
	if mod != nil {
		mod(idp)
	}
	srv.Config.Handler = idp
	srv.Start()
	return &testIdP{srv: srv, url: base.String()}, nil
}

// put sends an administrative PUT to the IdP.
func (p *testIdP) put(path string, body []byte) error {
	req, err := http.NewRequest(http.MethodPut, p.url+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("PUT %s: %s %s", path, resp.Status, b)
	}
	return nil
}

func (p *testIdP) putJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return p.put(path, b)
}

// addUser registers a user whose password is "secret-<name>", through the
// IdP's PUT /users/{name}.
func (p *testIdP) addUser(name, email, commonName string) error {
	return p.putJSON("/users/"+name, map[string]any{
		"name": name, "password": "secret-" + name, "email": email, "common_name": commonName,
	})
}

// register gives the IdP an SP's metadata (PUT /services/{id}), as the
// organization's admin would. A later call replaces it.
func (p *testIdP) register(t *testing.T, metadata []byte) {
	t.Helper()
	if err := p.put("/services/gatehouse", metadata); err != nil {
		t.Fatal(err)
	}
}

// browser is a user agent with its own cookie jar.
type browser struct {
	client *http.Client
}

func newBrowser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{client: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

// login signs the browser in at the IdP (POST /login), so that the IdP
// answers AuthnRequests at once.
func (b *browser) login(idp *testIdP, user string) error {
	resp, err := b.client.PostForm(idp.url+"/login", url.Values{"user": {user}, "password": {"secret-" + user}})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) {
		return fmt.Errorf("login as %s: %s %s", user, resp.Status, body)
	}
	return nil
}

// postedForm is the auto-submitting form in which the IdP hands the browser
// its response.
type postedForm struct {
	action string
	values url.Values
}

// get follows rawURL and returns the form in the page it ends on.
func (b *browser) get(t *testing.T, rawURL string) postedForm {
	t.Helper()
	resp, err := b.client.Get(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %s", rawURL, resp.Status, body)
	}
	f, err := parseForm(body)
	if err != nil {
		t.Fatalf("GET %s: %v in %s", rawURL, err, body)
	}
	return f
}

// parseForm finds the first form in an HTML page, with its inputs.
func parseForm(page []byte) (postedForm, error) {
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		return postedForm{}, err
	}
	var f *postedForm
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch {
			case n.Data == "form" && f == nil:
				f = &postedForm{action: attr(n, "action"), values: url.Values{}}
			case n.Data == "input" && f != nil && attr(n, "name") != "":
				f.values.Add(attr(n, "name"), attr(n, "value"))
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if f == nil || f.values.Get("SAMLResponse") == "" {
		return postedForm{}, errors.New("no form with a SAMLResponse")
	}
	return *f, nil
}

func attr(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

// responseXML decodes the form's SAMLResponse.
func (f postedForm) responseXML(t *testing.T) string {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(f.values.Get("SAMLResponse"))
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// withResponse returns a copy of the form carrying responseXML instead.
func (f postedForm) withResponse(responseXML string) postedForm {
	v := url.Values{}
	for k, vs := range f.values {
		v[k] = append([]string(nil), vs...)
	}
	v.Set("SAMLResponse", base64.StdEncoding.EncodeToString([]byte(responseXML)))
	return postedForm{action: f.action, values: v}
}

// acs is a small web server standing for Gatehouse: it serves the SP
// metadata and an ACS that calls ParseResponse on the SP a test chooses.
type acs struct {
	srv  *httptest.Server
	base *url.URL

	mu      sync.Mutex
	sp      *ServiceProvider
	lastID  *Identity
	lastErr error
	relay   string
}

func startACS() (*acs, error) {
	a := &acs{srv: httptest.NewUnstartedServer(nil)}
	var err error
	a.base, err = url.Parse("http://" + a.srv.Listener.Addr().String())
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /saml/{slug}/metadata", func(w http.ResponseWriter, r *http.Request) {
		md, err := a.current().Metadata()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/samlmetadata+xml")
		_, _ = w.Write(md)
	})
	mux.HandleFunc("POST /saml/{slug}/acs", func(w http.ResponseWriter, r *http.Request) {
		nonce := testNonce
		if v, ok := r.Header["X-Browser-Nonce"]; ok {
			nonce = v[0]
		}
		id, err := a.current().ParseResponse(r.Context(), r, nonce)
		a.mu.Lock()
		a.lastID, a.lastErr, a.relay = id, err, r.PostForm.Get("RelayState")
		a.mu.Unlock()
		if err != nil {
			http.Error(w, "sign-in failed", http.StatusForbidden)
			return
		}
		_, _ = io.WriteString(w, "signed in as "+id.Email)
	})
	a.srv.Config.Handler = mux
	a.srv.Start()
	return a, nil
}

func (a *acs) use(sp *ServiceProvider) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.sp = sp
}

func (a *acs) current() *ServiceProvider {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sp
}

// post delivers the form as the browser would, to the ACS of sp, and
// returns what ParseResponse returned.
func (a *acs) post(t *testing.T, sp *ServiceProvider, f postedForm) (*Identity, error) {
	t.Helper()
	return a.postAs(t, sp, f, testNonce)
}

// postAs posts the form from a browser whose binding nonce is nonce.
func (a *acs) postAs(t *testing.T, sp *ServiceProvider, f postedForm, nonce string) (*Identity, error) {
	t.Helper()
	if f.action != sp.ACSURL() {
		t.Fatalf("the IdP posts to %s, want the ACS %s", f.action, sp.ACSURL())
	}
	a.use(sp)
	req, err := http.NewRequest(http.MethodPost, f.action, strings.NewReader(f.values.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header["X-Browser-Nonce"] = []string{nonce}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	a.mu.Lock()
	defer a.mu.Unlock()
	if (resp.StatusCode == http.StatusOK) != (a.lastErr == nil) {
		t.Fatalf("ACS answered %s with error %v", resp.Status, a.lastErr)
	}
	return a.lastID, a.lastErr
}

func (a *acs) relayState() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.relay
}

// removeElements drops the first n elements (all, if n < 0) whose start tag
// begins with open (as "<ds:Signature"), each up to the first closeTag after
// it: for elements that do not nest, such as signatures.
func removeElements(doc, open, closeTag string, n int) string {
	for ; n != 0; n-- {
		i := strings.Index(doc, open)
		if i < 0 {
			return doc
		}
		j := strings.Index(doc[i:], closeTag)
		if j < 0 {
			return doc
		}
		doc = doc[:i] + doc[i+j+len(closeTag):]
	}
	return doc
}
