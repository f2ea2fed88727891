// Package mail sends Gatehouse's e-mail: sign-in codes and the notices that
// tell a user about changes to their account (docs/design.md §2 and §5, "Delivery
// of codes"). It speaks SMTP with STARTTLS or implicit TLS through
// github.com/wneessen/go-mail, and renders every message from an embedded
// pair of templates, plain text and HTML.
//
// The package never logs: a failed Send returns an error for the caller to
// log once at its boundary. Neither errors nor the printed forms of Config
// ever contain the SMTP password, and no subject line ever contains a code.
package mail
