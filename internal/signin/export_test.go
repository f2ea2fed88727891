package signin

// NewCodeForTest exposes newCode to the external tests.
var NewCodeForTest = newCode
