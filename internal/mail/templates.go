package mail

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"strconv"
	"strings"
	texttemplate "text/template"
	"time"
)

// Every kind of message is a pair, templates/NAME.txt and templates/NAME.html,
// plus the shared layout.txt and layout.html. The .txt file defines
// "subject" and "body", the .html file defines "content", which layout.html
// wraps. Keeping the subject in the text template keeps all the words of a
// message in one place for translators.
//
//go:embed templates/*.txt templates/*.html
var templateFS embed.FS

// The template data types. Each kind gets its own struct so that a template
// and its caller cannot disagree on a field name without the test that
// renders every kind failing. Values are already formatted for reading.
type (
	codeData struct {
		OrgName  string
		Code     string
		Lifetime string
	}
	phoneAddedData struct {
		OrgName string
		Phone   string
		When    string
		IP      string
	}
	wrongCodesData struct {
		OrgName  string
		Attempts int
		When     string
		IP       string
	}
	passwordResetData struct {
		OrgName  string
		Link     string
		Lifetime string
	}
	changedData struct {
		OrgName string
		Old     string
		New     string
		When    string
	}
)

// The templates are parsed once, when the program starts: a broken template
// stops the program at once instead of failing the first user who needs it.
var (
	codeTemplate          = mustParse[codeData]("code")
	changeCodeTemplate    = mustParse[codeData]("change_code")
	phoneAddedTemplate    = mustParse[phoneAddedData]("phone_added")
	wrongCodesTemplate    = mustParse[wrongCodesData]("wrong_codes")
	passwordResetTemplate = mustParse[passwordResetData]("password_reset")
	welcomeTemplate       = mustParse[passwordResetData]("welcome")
	emailChangedTemplate  = mustParse[changedData]("email_changed")
	phoneChangedTemplate  = mustParse[changedData]("phone_changed")
)

// CodeMessage is the e-mail with a 6-digit sign-in code. The code is in the
// body only: subjects show up in notifications and lock screens.
func CodeMessage(to, orgName, code string, lifetime time.Duration) (Message, error) {
	return codeTemplate.render(to, codeData{
		OrgName:  orgName,
		Code:     code,
		Lifetime: durationInWords(lifetime),
	})
}

// ChangeCodeMessage is the e-mail with a code that confirms a change of the
// user's e-mail address or phone number, sent to the current and then to
// the new address.
func ChangeCodeMessage(to, orgName, code string, lifetime time.Duration) (Message, error) {
	return changeCodeTemplate.render(to, codeData{
		OrgName:  orgName,
		Code:     code,
		Lifetime: durationInWords(lifetime),
	})
}

// PhoneAddedMessage tells a user that a phone number was saved to their
// profile during sign-in, so that a stolen password cannot quietly bind an
// attacker's phone (docs/design.md §2, rule 4). ip is the client address; it may
// be empty.
func PhoneAddedMessage(to, orgName, phoneMasked string, at time.Time, ip string) (Message, error) {
	return phoneAddedTemplate.render(to, phoneAddedData{
		OrgName: orgName,
		Phone:   phoneMasked,
		When:    formatTime(at),
		IP:      ip,
	})
}

// WrongCodesMessage tells a user that their correct password was followed
// by attempts wrong codes (the count that ends a pending sign-in): the
// password is probably known to someone else.
func WrongCodesMessage(to, orgName string, attempts int, at time.Time, ip string) (Message, error) {
	return wrongCodesTemplate.render(to, wrongCodesData{
		OrgName:  orgName,
		Attempts: attempts,
		When:     formatTime(at),
		IP:       ip,
	})
}

// PasswordResetMessage carries the single-use link that lets a user choose
// a new password. The link is the secret here, so it is in the body only.
func PasswordResetMessage(to, orgName, link string, lifetime time.Duration) (Message, error) {
	return passwordResetTemplate.render(to, passwordResetData{
		OrgName:  orgName,
		Link:     link,
		Lifetime: durationInWords(lifetime),
	})
}

// WelcomeMessage carries the single-use link with which a user whom an admin
// created chooses a first password.
func WelcomeMessage(to, orgName, link string, lifetime time.Duration) (Message, error) {
	return welcomeTemplate.render(to, passwordResetData{
		OrgName:  orgName,
		Link:     link,
		Lifetime: durationInWords(lifetime),
	})
}

// EmailChangedMessage tells a user that the account's e-mail address
// changed. Send it to both the old and the new address: the old one is
// where a user whose account was taken over would notice.
func EmailChangedMessage(to, orgName, oldAddr, newAddr string, at time.Time) (Message, error) {
	return emailChangedTemplate.render(to, changedData{
		OrgName: orgName,
		Old:     oldAddr,
		New:     newAddr,
		When:    formatTime(at),
	})
}

// PhoneChangedMessage tells a user that the phone number for sign-in codes
// changed. The numbers are given masked, as everywhere outside the profile.
func PhoneChangedMessage(to, orgName, oldMasked, newMasked string, at time.Time) (Message, error) {
	return phoneChangedTemplate.render(to, changedData{
		OrgName: orgName,
		Old:     oldMasked,
		New:     newMasked,
		When:    formatTime(at),
	})
}

// messageTemplate is one kind of message. The type parameter ties each kind
// to its data struct, so a caller cannot hand a template the wrong data.
type messageTemplate[T any] struct {
	text *texttemplate.Template
	html *htmltemplate.Template
}

func mustParse[T any](name string) messageTemplate[T] {
	return messageTemplate[T]{
		text: texttemplate.Must(texttemplate.New(name).Option("missingkey=error").
			ParseFS(templateFS, "templates/layout.txt", "templates/"+name+".txt")),
		html: htmltemplate.Must(htmltemplate.New(name).Option("missingkey=error").
			ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")),
	}
}

func (t messageTemplate[T]) render(to string, data T) (Message, error) {
	var subject, text, html bytes.Buffer
	if err := t.text.ExecuteTemplate(&subject, "subject", data); err != nil {
		return Message{}, fmt.Errorf("mail: rendering the subject of %s: %w", t.text.Name(), err)
	}
	if err := t.text.ExecuteTemplate(&text, "body", data); err != nil {
		return Message{}, fmt.Errorf("mail: rendering the text of %s: %w", t.text.Name(), err)
	}
	if err := t.html.ExecuteTemplate(&html, "layout", data); err != nil {
		return Message{}, fmt.Errorf("mail: rendering the HTML of %s: %w", t.html.Name(), err)
	}
	return Message{
		To:      to,
		Subject: oneLine(subject.String()),
		Text:    text.String(),
		HTML:    html.String(),
	}, nil
}

// formatTime writes a moment for a reader who may be anywhere: the server
// does not know the user's time zone, so it says UTC plainly.
func formatTime(t time.Time) string {
	return t.UTC().Format("Monday 2 January 2006 at 15:04 UTC")
}

// durationInWords turns a lifetime into English: "10 minutes", "1 hour",
// "30 seconds", "1 hour and 30 minutes". It rounds to whole seconds; a
// positive duration under a second reads as "1 second" rather than "0".
func durationInWords(d time.Duration) string {
	if d <= 0 {
		return "0 seconds"
	}
	d = max(d.Round(time.Second), time.Second)
	if d >= 48*time.Hour && d%(24*time.Hour) == 0 {
		return strconv.Itoa(int(d/(24*time.Hour))) + " days"
	}
	hours := int(d / time.Hour)
	minutes := int(d % time.Hour / time.Minute)
	seconds := int(d % time.Minute / time.Second)

	var parts []string
	for _, p := range []struct {
		n    int
		unit string
	}{{hours, "hour"}, {minutes, "minute"}, {seconds, "second"}} {
		if p.n == 0 {
			continue
		}
		word := strconv.Itoa(p.n) + " " + p.unit
		if p.n != 1 {
			word += "s"
		}
		parts = append(parts, word)
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}
