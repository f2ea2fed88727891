package web

import (
	"net/netip"
	"strings"
)

// browser is browserName in lang. browserName, shared with the JSON API,
// answers in English ("Firefox on Windows", "Unknown browser"); of that
// only the joining words and "Unknown browser" are language.
func (c *catalog) browser(lang, ua string) string {
	name, system, _ := strings.Cut(browserName(ua), " on ")
	if name == "Unknown browser" {
		name = c.T(lang, "browser.unknown")
	}
	if system == "" {
		return name
	}
	return c.T(lang, "browser.on_system", name, system)
}

func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// browserName turns a User-Agent into words a person recognizes.
func browserName(ua string) string {
	var browser, system string
	switch {
	case strings.Contains(ua, "Edg/"):
		browser = "Edge"
	case strings.Contains(ua, "Firefox/"):
		browser = "Firefox"
	case strings.Contains(ua, "Chrome/") || strings.Contains(ua, "Chromium/") || strings.Contains(ua, "HeadlessChrome/"):
		browser = "Chrome"
	case strings.Contains(ua, "Safari/"):
		browser = "Safari"
	default:
		browser = "Unknown browser"
	}
	switch {
	case strings.Contains(ua, "Android"):
		system = "Android"
	case strings.Contains(ua, "iPhone") || strings.Contains(ua, "iPad"):
		system = "iOS"
	case strings.Contains(ua, "Windows"):
		system = "Windows"
	case strings.Contains(ua, "Mac OS X") || strings.Contains(ua, "Macintosh"):
		system = "macOS"
	case strings.Contains(ua, "Linux"):
		system = "Linux"
	}
	if system == "" {
		return browser
	}
	return browser + " on " + system
}
