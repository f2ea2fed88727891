package saml

import (
	"fmt"
	"strings"
	"unicode"

	crewjam "github.com/crewjam/saml"

	"github.com/gatehousehq/gatehouse"
)

// Identity is who signed in, as the IdP's assertion says.
type Identity struct {
	// NameID is the assertion's subject as the IdP names it. Its format is
	// the IdP's choice (often transient or the e-mail address).
	NameID string
	// PersistentID is the NameID when its format is persistent: an
	// identifier the IdP never gives anyone else, which the caller links
	// the user by. "" for any other format.
	PersistentID string
	// Email is normalized (gatehouse.NormalizeEmail); never empty.
	Email string
	// Name is a one-line display name, or "".
	Name string
	// Phone is the phone number as the IdP gives it, or "": the caller
	// checks it before using it.
	Phone string
}

// The attribute names tried when the organization names none, in order.
// Each is matched against an attribute's Name or FriendlyName, ignoring case.
var (
	DefaultEmailAttrs = []string{
		"email",
		"mail",
		"emailAddress",
		"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
		"urn:oid:0.9.2342.19200300.100.1.3", // mail
		"urn:oid:1.2.840.113549.1.9.1",      // PKCS #9 emailAddress
	}
	DefaultNameAttrs = []string{
		"displayName",
		"http://schemas.microsoft.com/identity/claims/displayname",
		"urn:oid:2.16.840.1.113730.3.1.241", // displayName
		"name",
		"fullName",
		"cn",
		"commonName",
		"urn:oid:2.5.4.3", // cn
	}
	// defaultGivenNameAttrs and defaultSurnameAttrs make a name when none
	// of DefaultNameAttrs is there.
	defaultGivenNameAttrs = []string{
		"givenName", "firstName",
		"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname",
		"urn:oid:2.5.4.42",
	}
	defaultSurnameAttrs = []string{
		"sn", "surname", "lastName",
		"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname",
		"urn:oid:2.5.4.4",
	}
	DefaultPhoneAttrs = []string{
		"phone",
		"phoneNumber",
		"mobile",
		"mobilePhone",
		"telephoneNumber",
		"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/mobilephone",
		"urn:oid:0.9.2342.19200300.100.1.41", // mobile
		"urn:oid:2.5.4.20",                   // telephoneNumber
	}
)

// Bounds on the mapped values.
const (
	maxNameLength  = 200 // as gatehouse.ValidateUserName
	maxPhoneLength = 64
)

// MissingAttributeError says that the assertion lacks an attribute that
// sign-in needs (the e-mail address), or that its value is unusable.
// ParseResponse returns it wrapped with ErrInvalidResponse; its text names
// the attribute, for the log and for the organization's admin.
type MissingAttributeError struct {
	// Attribute is the organization's attribute name, or "email" when the
	// defaults were tried.
	Attribute string
	// Tried lists the names looked for.
	Tried []string
	// Unusable is set when the attribute was there but its value is not an
	// e-mail address.
	Unusable bool
}

func (e *MissingAttributeError) Error() string {
	if e.Unusable {
		return fmt.Sprintf("the assertion's %q attribute is not an e-mail address", e.Attribute)
	}
	return fmt.Sprintf("the assertion has no %q attribute (looked for %s)", e.Attribute, strings.Join(quoteAll(e.Tried), ", "))
}

func quoteAll(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = fmt.Sprintf("%q", n)
	}
	return out
}

// attributeMapping is an organization's attribute names; empty ones use the
// defaults.
type attributeMapping struct {
	email, name, phone string
}

func (m attributeMapping) identity(a *crewjam.Assertion) (*Identity, error) {
	id := &Identity{}
	if a.Subject != nil && a.Subject.NameID != nil {
		id.NameID = a.Subject.NameID.Value
		if crewjam.NameIDFormat(a.Subject.NameID.Format) == crewjam.PersistentNameIDFormat {
			id.PersistentID = strings.TrimSpace(a.Subject.NameID.Value)
		}
	}

	email, err := m.emailOf(a)
	if err != nil {
		return nil, err
	}
	id.Email = email

	if m.name != "" {
		id.Name = attrValue(a, m.name)
	} else {
		id.Name = firstAttrValue(a, DefaultNameAttrs)
		if id.Name == "" {
			id.Name = strings.TrimSpace(firstAttrValue(a, defaultGivenNameAttrs) + " " + firstAttrValue(a, defaultSurnameAttrs))
		}
	}
	id.Name = oneLine(id.Name, maxNameLength)

	if m.phone != "" {
		id.Phone = attrValue(a, m.phone)
	} else {
		id.Phone = firstAttrValue(a, DefaultPhoneAttrs)
	}
	if id.Phone = oneLine(id.Phone, len(id.Phone)); len(id.Phone) > maxPhoneLength {
		id.Phone = "" // not a phone number
	}
	return id, nil
}

// emailOf finds the e-mail address: in the organization's attribute, or else
// in the first of the default attributes that holds one, or else in the
// NameID when it is an e-mail address.
func (m attributeMapping) emailOf(a *crewjam.Assertion) (string, error) {
	if m.email != "" {
		v := attrValue(a, m.email)
		if v == "" {
			return "", &MissingAttributeError{Attribute: m.email, Tried: []string{m.email}}
		}
		email, err := gatehouse.NormalizeEmail(v)
		if err != nil {
			return "", &MissingAttributeError{Attribute: m.email, Tried: []string{m.email}, Unusable: true}
		}
		return email, nil
	}
	for _, name := range DefaultEmailAttrs {
		if email, err := gatehouse.NormalizeEmail(attrValue(a, name)); err == nil {
			return email, nil
		}
	}
	if a.Subject != nil && a.Subject.NameID != nil {
		switch crewjam.NameIDFormat(a.Subject.NameID.Format) {
		case crewjam.EmailAddressNameIDFormat, crewjam.UnspecifiedNameIDFormat, "":
			if email, err := gatehouse.NormalizeEmail(a.Subject.NameID.Value); err == nil {
				return email, nil
			}
		}
	}
	return "", &MissingAttributeError{Attribute: "email", Tried: append(append([]string(nil), DefaultEmailAttrs...), "NameID")}
}

// attrValue returns the first non-empty value of the first attribute whose
// Name or FriendlyName is name, ignoring case.
func attrValue(a *crewjam.Assertion, name string) string {
	for _, st := range a.AttributeStatements {
		for _, attr := range st.Attributes {
			if !strings.EqualFold(attr.Name, name) && !strings.EqualFold(attr.FriendlyName, name) {
				continue
			}
			for _, v := range attr.Values {
				if s := strings.TrimSpace(v.Value); s != "" && !v.Nil {
					return s
				}
			}
		}
	}
	return ""
}

func firstAttrValue(a *crewjam.Assertion, names []string) string {
	for _, n := range names {
		if v := attrValue(a, n); v != "" {
			return v
		}
	}
	return ""
}

// oneLine drops control characters, folds runs of white space into one
// space, and cuts s to at most max bytes on a character boundary.
func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)), " ")
	if len(s) <= max {
		return s
	}
	cut := 0
	for i := range s {
		if i > max {
			break
		}
		cut = i
	}
	return strings.TrimSpace(s[:cut])
}
