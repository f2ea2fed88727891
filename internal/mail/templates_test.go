package mail

import (
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
)

func TestMessages(t *testing.T) {
	at := time.Date(2026, 3, 14, 9, 26, 0, 0, time.FixedZone("EET", 2*3600))
	const when = "Saturday 14 March 2026 at 07:26 UTC"
	const org = "Happy Paws Clinic"

	tests := []struct {
		name   string
		render func() (Message, error)
		// want is in both parts, as a reader sees it.
		want []string
		// secret must be in both parts and never in the subject.
		secret string
	}{
		{
			name: "the sign-in code message gives the code and its lifetime",
			render: func() (Message, error) {
				return CodeMessage(testTo, org, "493027", 10*time.Minute)
			},
			want:   []string{"10 minutes", "did not try to sign in", "change your password"},
			secret: "493027",
		},
		{
			name: "the change code message gives the code and its lifetime",
			render: func() (Message, error) {
				return ChangeCodeMessage(testTo, org, "120934", 15*time.Minute)
			},
			want:   []string{"15 minutes", "contact details", "change your password"},
			secret: "120934",
		},
		{
			name: "the phone added notice says which number, when and from where",
			render: func() (Message, error) {
				return PhoneAddedMessage(testTo, org, "+358 •••• ••67", at, "203.0.113.9")
			},
			want: []string{"+358 •••• ••67", when, "203.0.113.9", "contact your administrator"},
		},
		{
			name: "the wrong codes notice says when, from where and to change the password",
			render: func() (Message, error) {
				return WrongCodesMessage(testTo, org, 5, at, "2001:db8::7")
			},
			want: []string{when, "2001:db8::7", "5 times", "change it now"},
		},
		{
			name: "the password reset message gives the link, valid for an hour",
			render: func() (Message, error) {
				return PasswordResetMessage(testTo, org, "https://sign-in.example.com/reset?t=Zm9vYmFy", time.Hour)
			},
			want:   []string{"1 hour", "works once", "ignore this message"},
			secret: "https://sign-in.example.com/reset?t=Zm9vYmFy",
		},
		{
			name: "the welcome message gives the link to choose a first password",
			render: func() (Message, error) {
				return WelcomeMessage(testTo, org, "https://sign-in.example.com/reset?t=d2VsY29tZQ", 72*time.Hour)
			},
			want:   []string{"3 days", "works once", "choose your password"},
			secret: "https://sign-in.example.com/reset?t=d2VsY29tZQ",
		},
		{
			name: "the e-mail changed notice names both addresses and when",
			render: func() (Message, error) {
				return EmailChangedMessage("old@example.com", org, "old@example.com", "new@example.org", at)
			},
			want: []string{"old@example.com", "new@example.org", when, "both addresses", "contact your administrator"},
		},
		{
			name: "the phone changed notice names both masked numbers and when",
			render: func() (Message, error) {
				return PhoneChangedMessage(testTo, org, "+358 •••• ••67", "+46 •••• ••12", at)
			},
			want: []string{"+358 •••• ••67", "+46 •••• ••12", when, "contact your administrator"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := tt.render()
			if err != nil {
				t.Fatal(err)
			}
			if m.To == "" {
				t.Error("the message has no recipient")
			}
			if !strings.Contains(m.Subject, org) {
				t.Errorf("Subject %q does not name the organization", m.Subject)
			}
			if strings.ContainsAny(m.Subject, "\r\n") {
				t.Errorf("Subject %q is more than one line", m.Subject)
			}
			if tt.secret != "" && strings.Contains(m.Subject, tt.secret) {
				t.Errorf("Subject %q contains the secret %q", m.Subject, tt.secret)
			}
			if strings.ContainsAny(m.Subject, "0123456789") {
				t.Errorf("Subject %q contains digits; a code must never be there", m.Subject)
			}
			htmlText := visibleText(t, m.HTML)
			for _, want := range append([]string{org, tt.secret}, tt.want...) {
				if !strings.Contains(m.Text, want) {
					t.Errorf("the text part does not contain %q:\n%s", want, m.Text)
				}
				if !strings.Contains(htmlText, want) {
					t.Errorf("the HTML part does not show %q:\n%s", want, m.HTML)
				}
			}
			if strings.Contains(m.Text, "{{") || strings.Contains(m.HTML, "{{") || strings.Contains(m.Text, "<no value>") {
				t.Error("a template action was left unrendered")
			}
		})
	}
}

func TestMessagesWithoutAnAddress(t *testing.T) {
	tests := []struct {
		name   string
		render func() (Message, error)
	}{
		{"the phone added notice reads well without an address", func() (Message, error) {
			return PhoneAddedMessage(testTo, "Acme", "+358 •••• ••67", time.Now(), "")
		}},
		{"the wrong codes notice reads well without an address", func() (Message, error) {
			return WrongCodesMessage(testTo, "Acme", 5, time.Now(), "")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := tt.render()
			if err != nil {
				t.Fatal(err)
			}
			for _, part := range []string{m.Text, visibleText(t, m.HTML)} {
				if strings.Contains(part, "address ,") || strings.Contains(part, "address .") || strings.Contains(part, "from the address") {
					t.Errorf("an empty address left a gap in:\n%s", part)
				}
			}
		})
	}
}

func TestMessagesEscapeHTML(t *testing.T) {
	const org = `<script>alert("x")</script> & Sons`
	m, err := CodeMessage(testTo, org, "493027", 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	doc := parseHTML(t, m.HTML)
	var scripts int
	walk(doc, func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "script" {
			scripts++
		}
	})
	if scripts != 0 {
		t.Errorf("the organization's name became %d <script> elements:\n%s", scripts, m.HTML)
	}
	if !strings.Contains(m.HTML, "&lt;script&gt;") {
		t.Errorf("the HTML part does not escape the organization's name:\n%s", m.HTML)
	}
	if !strings.Contains(visibleText(t, m.HTML), org) {
		t.Errorf("the HTML part does not show the organization's name as written")
	}
	if !strings.Contains(m.Text, org) {
		t.Errorf("the text part should carry the name as written, got:\n%s", m.Text)
	}
}

func TestPasswordResetLink(t *testing.T) {
	tests := []struct {
		name     string
		link     string
		wantHref string
	}{
		{"an https link becomes the target of the link", "https://sign-in.example.com/reset?t=a&b=c", "https://sign-in.example.com/reset?t=a&b=c"},
		{"a javascript: link is neutralised", "javascript:alert(1)", "#ZgotmplZ"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := PasswordResetMessage(testTo, "Acme", tt.link, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			var hrefs []string
			walk(parseHTML(t, m.HTML), func(n *html.Node) {
				if n.Type == html.ElementNode && n.Data == "a" {
					for _, a := range n.Attr {
						if a.Key == "href" {
							hrefs = append(hrefs, a.Val)
						}
					}
				}
			})
			if len(hrefs) != 1 || hrefs[0] != tt.wantHref {
				t.Errorf("hrefs = %q, want [%q]", hrefs, tt.wantHref)
			}
		})
	}
}

func TestSubjectStaysOnOneLine(t *testing.T) {
	m, err := CodeMessage(testTo, "Acme\r\nBcc: eve@example.com", "493027", 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(m.Subject, "\r\n") {
		t.Errorf("Subject %q has a line break from the organization's name", m.Subject)
	}
}

func TestDurationInWords(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{10 * time.Minute, "10 minutes"},
		{time.Hour, "1 hour"},
		{30 * time.Second, "30 seconds"},
		{time.Minute, "1 minute"},
		{time.Second, "1 second"},
		{2 * time.Hour, "2 hours"},
		{90 * time.Minute, "1 hour and 30 minutes"},
		{time.Hour + time.Minute + time.Second, "1 hour, 1 minute and 1 second"},
		{150 * time.Second, "2 minutes and 30 seconds"},
		{24 * time.Hour, "24 hours"},
		{10*time.Minute + 400*time.Millisecond, "10 minutes"},
		{300 * time.Millisecond, "1 second"},
		{0, "0 seconds"},
		{-time.Minute, "0 seconds"},
	}
	for _, tt := range tests {
		t.Run(tt.d.String()+" reads as "+tt.want, func(t *testing.T) {
			if got := durationInWords(tt.d); got != tt.want {
				t.Errorf("durationInWords(%v) = %q, want %q", tt.d, got, tt.want)
			}
		})
	}
}

func parseHTML(t *testing.T, s string) *html.Node {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(s))
	if err != nil {
		t.Fatalf("the HTML part does not parse: %v", err)
	}
	return doc
}

func walk(n *html.Node, f func(*html.Node)) {
	f(n)
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, f)
	}
}

// visibleText is the text a reader sees in the body of an HTML part, with
// runs of white space collapsed, and the link targets, which a reader
// follows.
func visibleText(t *testing.T, s string) string {
	t.Helper()
	var b strings.Builder
	walk(parseHTML(t, s), func(n *html.Node) {
		switch {
		case n.Type == html.TextNode && n.Parent != nil && n.Parent.Data != "title" && n.Parent.Data != "style":
			b.WriteString(n.Data)
		case n.Type == html.ElementNode && n.Data == "a":
			for _, a := range n.Attr {
				if a.Key == "href" {
					b.WriteString(" " + a.Val + " ")
				}
			}
		}
	})
	return strings.Join(strings.Fields(b.String()), " ")
}
