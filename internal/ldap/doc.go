// Package ldap signs users of an LDAP organization in against the
// organization's own directory (docs/design.md §7): it binds as the user with the
// password they typed and, when the directory accepts it, returns the user's
// DN, e-mail, name and phone so that the caller can create or update the
// Gatehouse user.
//
// A Config names the server (ldaps://, or ldap:// upgraded with StartTLS; plain
// ldap:// only to a loopback host and only when asked for), the CA that signs
// its certificate, and one of two ways to find the user's entry:
//
//   - a bind-DN template such as "uid={username},ou=people,dc=example,dc=test",
//     where {username} becomes the DN-escaped login name; or
//   - a service account that searches SearchBase with SearchFilter, where
//     {username} becomes the filter-escaped login name, and must find exactly
//     one entry.
//
// Authenticate answers with exactly two kinds of failure, so that callers
// need no LDAP knowledge: ErrInvalidCredentials (the same value for a wrong
// password and for an unknown user, so the two cannot be told apart) and
// errors wrapping ErrUnavailable for everything else — a directory that cannot
// be reached, does not answer in time, presents a certificate we do not
// trust, or refuses the service account. An unavailable directory signs nobody
// in.
//
// Passwords are never put in errors. The package does not log: the caller
// logs once, at its boundary.
package ldap
