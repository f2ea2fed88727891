package sqlstore

// Race and WonUnless give the external tests of this package (package
// sqlstore_test) the one helper for "N concurrent callers, exactly K win".
var (
	Race      = race
	WonUnless = wonUnless
)
