package mail

import (
	"fmt"
	"time"
)

// adminChangedData is a NoticeChangedByAdmin: Field is "email", "phone" or
// "two_factor_exempt".
type adminChangedData struct {
	OrgName string
	Field   string
	Old     string
	New     string
	Exempt  bool
	When    string
	WhenISO string
}

var adminChangedTemplate = mustParse[adminChangedData]("changed_by_admin")

// ChangedByAdminMessage tells a user, in English and Finnish, that an
// administrator changed their e-mail address or phone number (old and new
// values, phone numbers masked) or their exemption from two-factor
// authentication (newValue "true" or "false"). Send an e-mail change to
// both addresses.
func ChangedByAdminMessage(to, orgName, field, oldValue, newValue string, at time.Time) (Message, error) {
	d := adminChangedData{OrgName: orgName, Field: field, Old: oldValue, New: newValue,
		When: formatTime(at), WhenISO: at.UTC().Format("2006-01-02 15:04 UTC")}
	switch field {
	case "email", "phone":
	case "two_factor_exempt":
		d.Exempt = newValue == "true"
	default:
		return Message{}, fmt.Errorf("mail: unknown changed field %q", field)
	}
	return adminChangedTemplate.render(to, d)
}
