package web

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse"
	"github.com/gatehousehq/gatehouse/internal/ldap"
	"github.com/gatehousehq/gatehouse/internal/saml"
)

// settingsPageErrors are the page errors of the admin pages, the account
// page and federated sign-in (issue 11): the settings', names', LDAP's and
// SAML2's are made by their own code; those of internal/accounts,
// internal/signin and internal/federation are built as they make them.
func settingsPageErrors(t *testing.T) []pageError {
	t.Helper()
	settingsErr := func(change func(*gatehouse.PasswordSettings)) *gatehouse.Error {
		s := gatehouse.DefaultPasswordSettings()
		change(&s)
		return serviceError(t, s.Validate())
	}
	// ldapErr is the first problem Problems finds with field.
	ldapErr := func(c ldap.Config, field string) *gatehouse.Error {
		for _, p := range c.Problems() {
			if p.Field == field {
				return p
			}
		}
		t.Fatalf("%v: no problem with %s", c, field)
		return nil
	}
	bind := func(tpl string) ldap.Config {
		return ldap.Config{URL: "ldaps://ldap.example.test", BindDNTemplate: tpl}
	}
	search := func(dn, base, filter string) ldap.Config {
		return ldap.Config{URL: "ldaps://ldap.example.test", ServiceDN: dn, ServicePassword: "pw", SearchBase: base, SearchFilter: filter}
	}
	samlErr := func(c saml.Config) *gatehouse.Error { return serviceError(t, c.Validate()) }
	samlURL := func(u string) *gatehouse.Error { return samlErr(saml.Config{IdPMetadataURL: u}) }
	samlAttr := func(name string) *gatehouse.Error {
		return samlErr(saml.Config{IdPMetadataURL: "https://idp.example.test/metadata", NameAttr: name})
	}
	metadataErr := func(xml string) *gatehouse.Error {
		_, err := saml.ParseIdPMetadata([]byte(xml))
		return serviceError(t, err)
	}
	// metadataLacks is an error of ParseIdPMetadata's checks of the
	// entity, as it makes them.
	metadataLacks := func(reason, what string) *gatehouse.Error {
		return &gatehouse.Error{Code: gatehouse.EINVALID, Field: "idp_metadata", Reason: reason, Message: "The identity provider's metadata " + what + "."}
	}
	const mdNS = `xmlns="urn:oasis:names:tc:SAML:2.0:metadata"`
	return []pageError{
		// The password settings and organization and user names.
		{"an unknown code method", settingsErr(func(s *gatehouse.PasswordSettings) { s.OTPMethod = "fax" }),
			"error.invalid_input.otp_method.invalid", "ei ”fax”"},
		{"an unknown sign-in method", settingsErr(func(s *gatehouse.PasswordSettings) { s.AuthMethod = "kerberos" }),
			"error.invalid_input.auth_method.invalid", "ei ”kerberos”"},
		{"too many days to remember a browser", settingsErr(func(s *gatehouse.PasswordSettings) { s.RememberDays = gatehouse.MaxRememberDays + 1 }),
			"error.invalid_input.remember_days.range", "0–"},
		{"two-factor with a directory", settingsErr(func(s *gatehouse.PasswordSettings) { s.AuthMethod = gatehouse.AuthLDAP }),
			"error.two_factor_unavailable.federated", "LDAP- tai SAML2-kirjautumisen"},
		{"a bad slug", serviceError(t, gatehouse.ValidateSlug("-clinic-")), "error.invalid_input.slug.invalid", "Organisaation tunnisteessa"},
		{"no organization name", serviceError(t, gatehouse.ValidateOrgName(" ")), "error.invalid_input.name.organization_required", "Anna organisaation nimi."},
		{"an organization name too long", serviceError(t, gatehouse.ValidateOrgName(strings.Repeat("n", gatehouse.MaxOrganizationName+1))),
			"error.invalid_input.name.organization_too_long", "yli 200 merkkiä"},
		{"a user's name too long", serviceError(t, gatehouse.ValidateUserName(strings.Repeat("n", gatehouse.MaxUserName+1))),
			"error.invalid_input.name.too_long", "Nimessä on yli 200 merkkiä."},
		{"a user's name on two lines", serviceError(t, gatehouse.ValidateUserName("Anna\nVirtanen")), "error.invalid_input.name.one_line", "yhdellä rivillä"},

		// internal/accounts.
		{"a password for a directory's user", gatehouse.FieldReason("password", gatehouse.ReasonNoLocalPassword,
			"Users of an organization that signs in with LDAP or SAML2 have no local password."), "error.invalid_input.password.no_local", "paikallista salasanaa"},
		{"no organization with the slug", &gatehouse.Error{Code: gatehouse.ENOTFOUND, Field: "organization", Reason: gatehouse.ReasonNoSuchSlug,
			Args: []any{"clinc"}, Message: `There is no organization with the slug "clinc".`}, "error.not_found.organization", "tunnisteella ”clinc”"},
		{"a sign-in method not set up", gatehouse.FieldReason("auth_method", gatehouse.ReasonAuthMethodNotSetUp,
			"%s sign-in is not set up for this organization yet, so it cannot be chosen.", "SAML2"), "error.invalid_input.auth_method.not_set_up", "SAML2-kirjautumista ei ole vielä"},
		{"codes by SMS without a provider", gatehouse.FieldReason("otp_method", gatehouse.ReasonNoSMSProvider,
			"This server has no SMS provider, so codes cannot go by SMS. Ask the operator to set GATEHOUSE_SMS_PROVIDER, or keep e-mail."),
			"error.invalid_input.otp_method.no_sms", "tekstiviestipalvelua"},
		{"an admin disabling themself", gatehouse.FieldReason("disabled", gatehouse.ReasonDisableSelf, "You cannot disable yourself."),
			"error.invalid_input.disabled.self", "käytöstä"},
		{"an admin deleting themself", gatehouse.FieldReason("user", gatehouse.ReasonDeleteSelf, "You cannot delete yourself."),
			"error.invalid_input.user.self", "Et voi poistaa omaa tiliäsi."},
		{"a welcome e-mail for a directory's user", gatehouse.FieldReason("auth_method", gatehouse.ReasonWelcomeFromDirectory,
			"Users of this organization sign in through its directory or identity provider."), "error.invalid_input.auth_method.directory", "kirjautuvat sen hakemiston"},
		{"an unknown role", gatehouse.FieldReason("role", gatehouse.ReasonRoleInvalid, "The role must be admin or member."),
			"error.invalid_input.role.invalid", "ylläpitäjä tai jäsen"},
		{"an admin demoting themself", gatehouse.FieldReason("role", gatehouse.ReasonRoleSelf, "You cannot take away your own admin role."),
			"error.invalid_input.role.self", "ylläpitäjän roolia"},
		{"a new user's welcome e-mail not sent", gatehouse.Reasoned(gatehouse.EDELIVERYFAILED, gatehouse.ReasonWelcomeNotSent,
			"The user %s was created, but the e-mail with the link could not be sent. Try again from the user's page.", "anna@clinic.test"),
			"error.delivery_failed.welcome", "Käyttäjä anna@clinic.test luotiin"},
		{"a welcome e-mail sent again, not sent", gatehouse.Reasoned(gatehouse.EDELIVERYFAILED, gatehouse.ReasonMailNotSent,
			"The e-mail could not be sent. Try again in a moment."), "error.delivery_failed.mail", "Sähköpostia ei saatu lähetettyä."},

		// internal/signin and internal/federation.
		{"an unknown kind of contact detail", gatehouse.FieldReason("kind", gatehouse.ReasonKindInvalid, `kind must be "phone" or "email".`),
			"error.invalid_input.kind.invalid", "”phone” tai ”email”"},
		{"no change to confirm", gatehouse.FieldReason("challenge", gatehouse.ReasonChangeMissing, "The change to confirm is missing."),
			"error.invalid_input.challenge.change_missing", "Vahvistettava muutos puuttuu."},
		{"no confirmation to finish", gatehouse.FieldReason("challenge", gatehouse.ReasonConfirmationMissing, "The confirmation to finish is missing."),
			"error.invalid_input.challenge.confirmation_missing", "vahvistus puuttuu"},
		{"a SAML2 sign-in to an organization without it", gatehouse.Reasoned(gatehouse.EINVALID, gatehouse.ReasonNotSAML2,
			"This organization does not sign in with SAML2."), "error.invalid_input.not_saml2", "ei kirjaudu SAML2:n kautta"},
		{"a SAML2 endpoint of an organization without it", gatehouse.Reasoned(gatehouse.ENOTFOUND, gatehouse.ReasonNotSAML2Here,
			"This organization does not sign in with SAML2."), "error.not_found.not_saml2", "ei kirjaudu SAML2:n kautta"},
		{"SAML2 not set up", gatehouse.Reasoned(gatehouse.ENOTFOUND, gatehouse.ReasonSAML2NotSetUp, "SAML2 is not set up for this organization."),
			"error.not_found.saml2_not_set_up", "ei ole määritetty"},
		{"a disabled account signing in through its identity provider", gatehouse.Reasoned(gatehouse.EINVALIDCREDENTIALS, gatehouse.ReasonAccountDisabled,
			"Your account is disabled. Ask your admin."), "error.invalid_credentials.disabled", "Tilisi on poistettu käytöstä."},
		{"an identity not yet linked", &gatehouse.Error{Code: gatehouse.EINVALIDCREDENTIALS, Reason: gatehouse.ReasonNotLinked,
			Message: "Your account cannot be signed in through your organization's directory yet. Ask your admin to link it."},
			"error.invalid_credentials.not_linked", "yhdistämään"},
		{"a refused SAML2 response", &gatehouse.Error{Code: gatehouse.EINVALIDCREDENTIALS, Field: "saml", Reason: gatehouse.ReasonSAML2ResponseRefused,
			Message: "The sign-in from your identity provider could not be accepted. Start again from the sign-in page."},
			"error.invalid_credentials.saml2_response", "ei voitu hyväksyä"},

		// internal/ldap: Config.Problems.
		{"no LDAP server", ldapErr(ldap.Config{}, "url"), "error.invalid_input.ldap.url.required", "Anna palvelimen osoite"},
		{"an LDAP server that is not a URL", ldapErr(ldap.Config{URL: "ldaps://[::1"}, "url"), "error.invalid_input.ldap.url.invalid", "URL-osoite"},
		{"an LDAP server by http", ldapErr(ldap.Config{URL: "http://ldap.example.test"}, "url"), "error.invalid_input.ldap.url.scheme", "alettava ldaps://"},
		{"an LDAP server with a path", ldapErr(ldap.Config{URL: "ldaps://ldap.example.test/people"}, "url"), "error.invalid_input.ldap.url.shape", "muotoa ldaps://palvelin:portti"},
		{"an LDAP server without a host", ldapErr(ldap.Config{URL: "ldaps://:636"}, "url"), "error.invalid_input.ldap.url.no_host", "puuttuu palvelimen nimi"},
		{"an LDAP server with a bad port", ldapErr(ldap.Config{URL: "ldaps://ldap.example.test:70000"}, "url"), "error.invalid_input.ldap.url.port", "portti ”70000”"},
		{"a private key for a CA certificate", ldapErr(ldap.Config{URL: "ldaps://ldap.example.test",
			CACertPEM: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}, "ca_cert_pem"), "error.invalid_input.ldap.ca_cert_pem.block_type", "”PRIVATE KEY”-lohko"},
		{"a CA certificate that does not parse", ldapErr(ldap.Config{URL: "ldaps://ldap.example.test",
			CACertPEM: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}, "ca_cert_pem"), "error.invalid_input.ldap.ca_cert_pem.unparsable", "varmennetta 1 ei voi lukea"},
		{"a CA certificate not in PEM", ldapErr(ldap.Config{URL: "ldaps://ldap.example.test", CACertPEM: "MIIB"}, "ca_cert_pem"),
			"error.invalid_input.ldap.ca_cert_pem.not_pem", "PEM-muodossa"},
		{"plain text with ldaps", ldapErr(ldap.Config{URL: "ldaps://ldap.example.test", InsecureNoTLS: true}, "insecure_no_tls"),
			"error.invalid_input.ldap.insecure_no_tls.ldaps", "ristiriidassa"},
		{"plain text over the network", ldapErr(ldap.Config{URL: "ldap://ldap.example.test", InsecureNoTLS: true}, "insecure_no_tls"),
			"error.invalid_input.ldap.insecure_no_tls.not_local", "ei ”ldap.example.test”"},
		{"a bind template and a search", ldapErr(ldap.Config{URL: "ldaps://ldap.example.test", BindDNTemplate: "uid={username},dc=example", SearchBase: "dc=example"},
			"bind_dn_template"), "error.invalid_input.ldap.bind_dn_template.both", "ei molempia"},
		{"neither a bind template nor a search", ldapErr(ldap.Config{URL: "ldaps://ldap.example.test"}, "bind_dn_template"),
			"error.invalid_input.ldap.bind_dn_template.neither", "uid={username},ou=people"},
		{"a bind template without the user name", ldapErr(bind("uid=anna,dc=example"), "bind_dn_template"),
			"error.invalid_input.ldap.bind_dn_template.no_placeholder", "on oltava {username}"},
		{"a bind template that is not a DN", ldapErr(bind("{username}"), "bind_dn_template"),
			"error.invalid_input.ldap.bind_dn_template.invalid", "ei ole kelvollinen DN"},
		{"a bind template with the user name as a type", ldapErr(bind("{username}=x,dc=example"), "bind_dn_template"),
			"error.invalid_input.ldap.bind_dn_template.not_value", "attribuutin arvo"},
		{"a search without a service account", ldapErr(search("", "dc=example", "(uid={username})"), "service_dn"),
			"error.invalid_input.ldap.service_dn.required", "palvelutilin DN:n"},
		{"a service account that is not a DN", ldapErr(search("not a dn", "dc=example", "(uid={username})"), "service_dn"),
			"error.invalid_input.ldap.service_dn.invalid", "Palvelutilin DN ei ole"},
		{"a service account without a password", ldapErr(ldap.Config{URL: "ldaps://ldap.example.test", ServiceDN: "cn=svc,dc=example",
			SearchBase: "dc=example", SearchFilter: "(uid={username})"}, "service_password"), "error.invalid_input.ldap.service_password.required", "palvelutilin salasanan"},
		{"a search without a base", ldapErr(search("cn=svc,dc=example", "", "(uid={username})"), "search_base"),
			"error.invalid_input.ldap.search_base.required", "hakukannan"},
		{"a search base that is not a DN", ldapErr(search("cn=svc,dc=example", "not a dn", "(uid={username})"), "search_base"),
			"error.invalid_input.ldap.search_base.invalid", "Hakukanta ei ole"},
		{"a search without a filter", ldapErr(search("cn=svc,dc=example", "dc=example", ""), "search_filter"),
			"error.invalid_input.ldap.search_filter.required", "hakusuodattimen"},
		{"a filter without the user name", ldapErr(search("cn=svc,dc=example", "dc=example", "(uid=anna)"), "search_filter"),
			"error.invalid_input.ldap.search_filter.no_placeholder", "on oltava {username}"},
		{"a filter that is not a filter", ldapErr(search("cn=svc,dc=example", "dc=example", "(uid={username}"), "search_filter"),
			"error.invalid_input.ldap.search_filter.invalid", "LDAP-suodatin"},
		{"a bad LDAP attribute", ldapErr(ldap.Config{URL: "ldaps://ldap.example.test", EmailAttr: "e mail"}, "email_attr"),
			"error.invalid_input.ldap.attribute", "”e mail” ei ole LDAP-attribuutin nimi"},
		{"an LDAP timeout too long", ldapErr(ldap.Config{URL: "ldaps://ldap.example.test", Timeout: 2 * time.Minute}, "timeout"),
			"error.invalid_input.ldap.timeout", "oletus, 5 sekuntia) ja enintään 60 sekuntia"},

		// internal/saml: Config.Validate and ParseIdPMetadata.
		{"no SAML2 metadata", samlErr(saml.Config{}), "error.invalid_input.saml.metadata_missing", "Anna tunnistuspalvelun metatiedot"},
		{"SAML2 metadata twice", samlErr(saml.Config{IdPMetadataXML: "<x/>", IdPMetadataURL: "https://idp.example.test/metadata"}),
			"error.invalid_input.saml.metadata_both", "ei molempia"},
		{"a SAML2 attribute with spaces", samlAttr(" cn"), "error.invalid_input.saml.attribute_spaces", "välilyöntiin"},
		{"a SAML2 attribute too long", samlAttr(strings.Repeat("a", 257)), "error.invalid_input.saml.attribute_too_long", "yli 256 merkkiä"},
		{"a SAML2 attribute on two lines", samlAttr("c\tn"), "error.invalid_input.saml.attribute_one_line", "yksi tekstirivi"},
		{"SAML2 metadata too large", metadataErr(strings.Repeat(" ", saml.MaxMetadataSize+1)), "error.invalid_input.saml.metadata_too_large", "yli 1024 KiB"},
		{"SAML2 metadata that is not metadata", metadataErr("not xml"), "error.invalid_input.saml.not_metadata", "SAML-metatietoasiakirja"},
		{"SAML2 metadata without an entityID", metadataErr(`<EntityDescriptor ` + mdNS + `></EntityDescriptor>`),
			"error.invalid_input.saml.no_entity_id", "puuttuu entityID"},
		{"SAML2 metadata without an IdP", metadataErr(`<EntityDescriptor ` + mdNS + ` entityID="https://idp.example.test"></EntityDescriptor>`),
			"error.invalid_input.saml.no_idp", "puuttuu IDPSSODescriptor"},
		{"SAML2 metadata without a redirect endpoint", metadataLacks(gatehouse.ReasonSAMLNoRedirectSSO, "has no SingleSignOnService for the HTTP-Redirect binding"),
			"error.invalid_input.saml.no_redirect_sso", "HTTP-Redirect-sidonnan"},
		{"SAML2 metadata with an endpoint not by http", metadataLacks(gatehouse.ReasonSAMLSSONotHTTP, "has a SingleSignOnService location that is not an http(s) URL"),
			"error.invalid_input.saml.sso_not_http", "ei ole http(s)-osoite"},
		{"SAML2 metadata with a certificate not in base64", metadataLacks(gatehouse.ReasonSAMLCertNotBase64, "has a signing certificate that is not base64"),
			"error.invalid_input.saml.cert_not_base64", "base64-muodossa"},
		{"SAML2 metadata with a certificate that does not parse", metadataLacks(gatehouse.ReasonSAMLCertUnparsable, "has a signing certificate that cannot be parsed"),
			"error.invalid_input.saml.cert_unparsable", "allekirjoitusvarmennetta ei voi lukea"},
		{"SAML2 metadata without a signing certificate", metadataLacks(gatehouse.ReasonSAMLNoSigningCert, "has no signing certificate in its IDPSSODescriptor"),
			"error.invalid_input.saml.no_signing_cert", "puuttuu allekirjoitusvarmenne"},
		{"a metadata URL too long", samlURL("https://idp.example.test/" + strings.Repeat("m", 2048)), "error.invalid_input.saml.url_too_long", "yli 2048 merkkiä"},
		{"a metadata URL that is not absolute", samlURL("idp.example.test/metadata"), "error.invalid_input.saml.url_not_absolute", "täydellinen https-osoite"},
		{"a metadata URL with a password", samlURL("https://anna:secret@idp.example.test/metadata"), "error.invalid_input.saml.url_credentials", "käyttäjätunnusta"},
		{"a metadata URL by http", samlURL("http://idp.example.test/metadata"), "error.invalid_input.saml.url_scheme", "loopback-osoitteeseen"},
		{"a metadata URL by http when fetching", gatehouse.FieldReason("idp_metadata_url", gatehouse.ReasonSAMLURLHTTPS, "The metadata URL must use https."),
			"error.invalid_input.saml.url_https", "käytettävä https:ää."},
		{"a metadata URL to a private address", gatehouse.FieldReason("idp_metadata_url", gatehouse.ReasonSAMLURLNotPublic,
			"The metadata URL must lead to a public internet address, not a loopback, private or link-local one."), "error.invalid_input.saml.url_not_public", "julkiseen internetosoitteeseen"},

		// This package.
		{"an unknown language", gatehouse.FieldReason("language", gatehouse.ReasonLanguageUnknown, "Unknown language."),
			"error.invalid_input.language.unknown", "Tuntematon kieli."},
		{"an audit date that is not a date", gatehouse.FieldReason("from", gatehouse.ReasonDateInvalid, "%q is not a date; use the form 2026-11-27.", "27.11.2026"),
			"error.invalid_input.date.invalid", "”27.11.2026” ei ole päivämäärä"},
		{"an audit page that is not a page", gatehouse.FieldReason("before", gatehouse.ReasonAuditPage, "The page is not valid."),
			"error.invalid_input.before.invalid", "Sivu ei ole kelvollinen."},
		{"a member opening the settings", gatehouse.Reasoned(gatehouse.EFORBIDDEN, gatehouse.ReasonSettingsAdmins,
			"Only admins of this organization can open the settings."), "error.forbidden.settings", "avata asetukset"},
	}
}
