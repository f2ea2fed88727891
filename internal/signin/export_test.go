package signin

// NewCodeForTest exposes newCode to the external tests.
var NewCodeForTest = newCode

// HashTokenForTest exposes the session token's stored hash.
func (s *Service) HashTokenForTest(token string) []byte { return s.hashToken(token) }
