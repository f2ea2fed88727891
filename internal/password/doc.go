// Package password hashes and checks passwords, and decides which passwords
// are acceptable.
//
// # Hashing
//
// Passwords are hashed with argon2id (RFC 9106), the memory-hard variant that
// resists both GPU cracking and side-channel attacks. The default parameters
// are the first set OWASP's Password Storage Cheat Sheet recommends: 19 MiB of
// memory, 2 passes, 1 lane (docs/design.md §3). One lane keeps a hash on one core,
// so the number of hashes running at once is the number of cores in use; a
// single hash takes a few tens of milliseconds on a current server core,
// which is slow for an attacker with a stolen database and fast enough for a
// person signing in.
//
// Each hash is stored as a PHC string that carries its own parameters and
// salt:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
//
// with salt and hash in standard base64 without padding. Because the
// parameters travel with the hash, they can be raised later: NeedsRehash
// tells the caller, right after a successful sign-in, that the stored hash is
// weaker than today's parameters and should be replaced. The parser is
// strict and bounds every number (see the Max* constants): a hash in the
// database is data, and a hostile row must not be able to make the server
// allocate gigabytes or spin for minutes.
//
// # The hashing pool
//
// Every hash allocates Params.Memory; a burst of sign-ins (or an attacker
// spraying passwords) would otherwise allocate 19 MiB per request until the
// process runs out of memory. Hasher runs at most Workers hashes at once
// (by default one per CPU, since more would only queue inside the Go
// scheduler); a caller waits at most MaxWait for a slot and then gets an
// EBUSY error with a Retry-After, which the web layer turns into 503. Memory
// therefore stays near Workers × Params.Memory however many requests arrive.
//
// Hasher.Verify with an empty hash (unknown e-mail, or a user without a local
// password) still runs one full hash against a dummy made with the same
// parameters, so the time of an answer does not tell whether the account
// exists.
//
// # Policy
//
// Policy follows NIST SP 800-63B-4 §3.1.1.2: a minimum length (12
// characters by default, counted in Unicode code points), a maximum that
// only bounds the hashing input (256), no composition rules, and a check
// against a list of commonly used passwords and values derived from the
// account (the e-mail address). See Policy.Check for the exact rules.
package password
