package signin

import (
	"testing"

	"github.com/gatehousehq/gatehouse"
)

func TestStepUpAsksForTheCodeOnlyWherePolicySkippedIt(t *testing.T) {
	org := &gatehouse.Organization{ID: "o", Settings: gatehouse.DefaultPasswordSettings()}
	smsOrg := &gatehouse.Organization{ID: "o", Settings: gatehouse.DefaultPasswordSettings()}
	smsOrg.Settings.OTPMethod = gatehouse.OTPSMS
	withPhone, noPhone := &gatehouse.User{OrgID: "o", Phone: "+358401234567"}, &gatehouse.User{OrgID: "o"}
	for _, tt := range []struct {
		name string
		org  *gatehouse.Organization
		user *gatehouse.User
		in   string
		want string
	}{
		{"an allowed network asks for the code", org, withPhone, gatehouse.TwoFactorAllowedNetwork, NeedCode},
		{"a remembered browser asks for the code", org, withPhone, gatehouse.TwoFactorRemembered, NeedCode},
		{"by SMS without a phone, the phone is asked first", smsOrg, noPhone, gatehouse.TwoFactorRemembered, NeedPhone},
		{"a code already needed stays needed", org, withPhone, NeedCode, NeedCode},
		{"no enforcement stays so", org, withPhone, gatehouse.TwoFactorNotEnforced, gatehouse.TwoFactorNotEnforced},
		{"an exemption stays so", org, withPhone, gatehouse.TwoFactorExempt, gatehouse.TwoFactorExempt},
		{"a directory sign-in stays so", org, withPhone, gatehouse.TwoFactorFederated, gatehouse.TwoFactorFederated},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d, err := StepUp(Decision{Outcome: tt.in}, tt.org, tt.user)
			if err != nil || d.Outcome != tt.want {
				t.Errorf("StepUp(%s) = %q, %v; want %q", tt.in, d.Outcome, err, tt.want)
			}
		})
	}
}
