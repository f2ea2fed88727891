package clientip

import "strings"

// forwardedFor returns the for= value of every element of all RFC 7239
// Forwarded headers, left to right, with "" standing for an element that has
// no for= parameter or cannot be parsed (which stops the walk there).
//
// Elements are split at every comma and parameters at every semicolon, even
// inside quotes. No value a proxy writes (an address, a port, a host name, a
// protocol) contains either, and a quote-aware split would let a client send
// an unbalanced quote that swallows the elements its proxy appends after it.
func forwardedFor(values []string) []string {
	var out []string
	for _, v := range values {
		for el := range strings.SplitSeq(v, ",") {
			out = append(out, forParam(el))
		}
	}
	return out
}

// forParam returns the unquoted value of the one for= parameter of a
// Forwarded element, or "" when the element is malformed, has no for=, or has
// it twice.
func forParam(el string) string {
	var node string
	found := false
	for pair := range strings.SplitSeq(el, ";") {
		name, value, ok := strings.Cut(strings.Trim(pair, " \t"), "=")
		if !ok || name == "" {
			return ""
		}
		if !strings.EqualFold(name, "for") {
			continue
		}
		if found {
			return ""
		}
		found = true
		if node, ok = unquote(value); !ok {
			return ""
		}
		// RFC 7239 puts IPv6 addresses in brackets; without them a port
		// could not be told from the last group of the address.
		if !strings.HasPrefix(node, "[") && strings.Count(node, ":") > 1 {
			return ""
		}
	}
	return node
}

// unquote returns a token as it is, or the content of an RFC 7230 quoted
// string with its backslash escapes undone.
func unquote(v string) (string, bool) {
	if !strings.HasPrefix(v, `"`) {
		if v == "" || strings.ContainsAny(v, "\" \t\\") {
			return "", false
		}
		return v, true
	}
	if len(v) < 2 || !strings.HasSuffix(v, `"`) {
		return "", false
	}
	inner := v[1 : len(v)-1]
	var b strings.Builder
	for i := 0; i < len(inner); i++ {
		switch c := inner[i]; c {
		case '\\':
			i++
			if i == len(inner) {
				return "", false
			}
			b.WriteByte(inner[i])
		case '"':
			return "", false
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), true
}
