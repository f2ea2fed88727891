package saml

import (
	"errors"
	"strings"
	"testing"

	crewjam "github.com/crewjam/saml"
)

// assertion makes an assertion with a NameID of the given format and the
// given attributes, each "Name|FriendlyName=value".
func assertion(nameIDFormat crewjam.NameIDFormat, nameID string, attrs ...string) *crewjam.Assertion {
	a := &crewjam.Assertion{Subject: &crewjam.Subject{NameID: &crewjam.NameID{Format: string(nameIDFormat), Value: nameID}}}
	st := crewjam.AttributeStatement{}
	for _, kv := range attrs {
		names, value, _ := strings.Cut(kv, "=")
		name, friendly, _ := strings.Cut(names, "|")
		st.Attributes = append(st.Attributes, crewjam.Attribute{Name: name, FriendlyName: friendly,
			Values: []crewjam.AttributeValue{{Value: value}}})
	}
	a.AttributeStatements = []crewjam.AttributeStatement{st}
	return a
}

func TestAttributeMapping(t *testing.T) {
	const transient = crewjam.TransientNameIDFormat
	tests := []struct {
		name    string
		mapping attributeMapping
		a       *crewjam.Assertion
		want    Identity
		missing string // the attribute a MissingAttributeError names
	}{
		{"Microsoft Entra ID claims", attributeMapping{},
			assertion(crewjam.PersistentNameIDFormat, "AbC123",
				"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress=Anna.Virtanen@Clinic.FI",
				"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name=anna.virtanen@clinic.fi",
				"http://schemas.microsoft.com/identity/claims/displayname=Anna Virtanen"),
			Identity{NameID: "AbC123", PersistentID: "AbC123", Email: "anna.virtanen@clinic.fi", Name: "Anna Virtanen"}, ""},
		{"LDAP-style OIDs with friendly names", attributeMapping{},
			assertion(transient, "_x1", "urn:oid:0.9.2342.19200300.100.1.3|mail=a@example.com",
				"urn:oid:2.5.4.3|cn=Ann A", "urn:oid:0.9.2342.19200300.100.1.41|mobile=+358401234567"),
			Identity{NameID: "_x1", Email: "a@example.com", Name: "Ann A", Phone: "+358401234567"}, ""},
		{"short names in any case", attributeMapping{},
			assertion(transient, "_x2", "EMAIL=b@example.com", "givenName=Bea", "sn=Berg", "Phone=040 123 4567"),
			Identity{NameID: "_x2", Email: "b@example.com", Name: "Bea Berg", Phone: "040 123 4567"}, ""},
		{"the NameID when it is an e-mail address", attributeMapping{},
			assertion(crewjam.EmailAddressNameIDFormat, "C@Example.com"),
			Identity{NameID: "C@Example.com", Email: "c@example.com"}, ""},
		{"an unspecified NameID that is an e-mail address", attributeMapping{},
			assertion(crewjam.UnspecifiedNameIDFormat, "d@example.com"),
			Identity{NameID: "d@example.com", Email: "d@example.com"}, ""},
		{"an attribute that is not an address falls through to the next", attributeMapping{},
			assertion(transient, "_x3", "email=not an address", "mail=e@example.com"),
			Identity{NameID: "_x3", Email: "e@example.com"}, ""},
		{"a name on several lines becomes one", attributeMapping{},
			assertion(transient, "_x4", "mail=f@example.com", "displayName=Fay\r\n\tFinn\x00"),
			Identity{NameID: "_x4", Email: "f@example.com", Name: "Fay Finn"}, ""},
		{"the organization's names, and only them", attributeMapping{email: "corpMail", name: "fullName", phone: "workPhone"},
			assertion(transient, "_x5", "mail=ignored@example.com", "corpMail=g@example.com", "displayName=Ignored", "fullName=Gus G", "workPhone=+35891234567"),
			Identity{NameID: "_x5", Email: "g@example.com", Name: "Gus G", Phone: "+35891234567"}, ""},
		{"an over-long phone number is dropped", attributeMapping{},
			assertion(transient, "_x6", "mail=h@example.com", "phone="+strings.Repeat("1", 65)),
			Identity{NameID: "_x6", Email: "h@example.com"}, ""},

		{"a transient NameID is not an e-mail address", attributeMapping{},
			assertion(transient, "i@example.com", "cn=Ida"), Identity{}, "email"},
		{"a persistent NameID is not an e-mail address", attributeMapping{},
			assertion(crewjam.PersistentNameIDFormat, "j@example.com"), Identity{}, "email"},
		{"no attribute and no NameID", attributeMapping{},
			&crewjam.Assertion{}, Identity{}, "email"},
		{"the organization's attribute is missing", attributeMapping{email: "corpMail"},
			assertion(crewjam.EmailAddressNameIDFormat, "k@example.com", "mail=k@example.com"), Identity{}, "corpMail"},
		{"the organization's attribute is not an address", attributeMapping{email: "corpMail"},
			assertion(transient, "_x7", "corpMail=Kim"), Identity{}, "corpMail"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := tt.mapping.identity(tt.a)
			if tt.missing != "" {
				var missing *MissingAttributeError
				if !errors.As(err, &missing) || missing.Attribute != tt.missing {
					t.Fatalf("error %v, want a MissingAttributeError for %q", err, tt.missing)
				}
				if !strings.Contains(err.Error(), `"`+tt.missing+`"`) {
					t.Errorf("error %q does not name %q", err, tt.missing)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if *id != tt.want {
				t.Errorf("identity %+v, want %+v", *id, tt.want)
			}
		})
	}
}

func TestOneLine(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"  Ann \n Example ", 200, "Ann Example"},
		{"Åsa Öberg", 4, "Åsa"},
		{"ÅÅÅ", 3, "Å"},
		{"abc", 3, "abc"},
		{"\x00\x07", 10, ""},
	}
	for _, tt := range tests {
		if got := oneLine(tt.in, tt.max); got != tt.want {
			t.Errorf("oneLine(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
}
