package signin

import (
	"errors"
	"net/netip"

	"github.com/gatehousehq/gatehouse"
)

// Outcomes of the decision that do not sign the user in yet.
const (
	NeedCode  = "code_required"
	NeedPhone = "phone_required"
)

// Decision is the result of docs/design.md §4 after a correct password.
type Decision struct {
	// Outcome is one of the gatehouse.TwoFactor* states when the user is
	// signed in, or NeedCode / NeedPhone.
	Outcome string
	// Network is the skip network that matched, for allowed_network.
	Network netip.Prefix
	// RememberedID is the remembered browser that matched, for remembered.
	RememberedID string
}

// SignedIn reports whether the decision lets the user in without a code.
func (d Decision) SignedIn() bool { return d.Outcome != NeedCode && d.Outcome != NeedPhone }

// Decide applies the organization's policy to a user whose password was
// correct, in the order of docs/design.md §4. It is the only place that decides
// whether a code is needed.
//
// remembered returns the id of a remembered browser of this user, or "". It
// is asked only when the decision gets that far, so the
// database is read only when its answer matters; an error from it is an
// error of the decision (fail closed, never "skip 2FA").
func Decide(org *gatehouse.Organization, user *gatehouse.User, clientIP netip.Addr, remembered func() (string, error)) (Decision, error) {
	if org == nil || user == nil || user.OrgID != org.ID {
		return Decision{}, errors.New("signin: decide without a matching organization and user")
	}
	st := org.Settings
	switch st.AuthMethod {
	case gatehouse.AuthLDAP, gatehouse.AuthSAML2:
		return Decision{Outcome: gatehouse.TwoFactorFederated}, nil
	case gatehouse.AuthPassword:
	default:
		return Decision{}, errors.New("signin: unknown sign-in method " + string(st.AuthMethod))
	}
	if !st.EnforceTwoFactor {
		return Decision{Outcome: gatehouse.TwoFactorNotEnforced}, nil
	}
	if user.TwoFactorExempt {
		return Decision{Outcome: gatehouse.TwoFactorExempt}, nil
	}
	if clientIP.IsValid() {
		if p, ok := gatehouse.SkipNetworkMatch(st.SkipNetworks, clientIP); ok {
			return Decision{Outcome: gatehouse.TwoFactorAllowedNetwork, Network: p}, nil
		}
	}
	if remembered != nil && st.RememberDays > 0 {
		id, err := remembered()
		if err != nil {
			return Decision{}, err
		}
		if id != "" {
			return Decision{Outcome: gatehouse.TwoFactorRemembered, RememberedID: id}, nil
		}
	}
	return needCode(st.OTPMethod, user)
}

// needCode is the decision to ask the user for a code by method.
func needCode(method gatehouse.OTPMethod, user *gatehouse.User) (Decision, error) {
	switch method {
	case gatehouse.OTPSMS:
		if user.Phone == "" {
			return Decision{Outcome: NeedPhone}, nil
		}
		return Decision{Outcome: NeedCode}, nil
	case gatehouse.OTPEmail:
		return Decision{Outcome: NeedCode}, nil
	default:
		return Decision{}, errors.New("signin: unknown one-time passcode method " + string(method))
	}
}

// StepUp turns a decision for a sign-in that an application asked a fresh
// code of (OpenID Connect acr_values=mfa or max_age, docs/design.md §10.1) into
// one that asks for the code where an allowed network or a remembered
// browser would have skipped it. Every other outcome stands: what the
// policy does not enforce, step-up does not invent.
func StepUp(d Decision, org *gatehouse.Organization, user *gatehouse.User) (Decision, error) {
	if d.Outcome != gatehouse.TwoFactorAllowedNetwork && d.Outcome != gatehouse.TwoFactorRemembered {
		return d, nil
	}
	return needCode(org.Settings.OTPMethod, user)
}
