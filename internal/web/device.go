package web

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse"
)

// deviceCookie holds the browser's known-device tokens (__Host-gh_device
// over https): one per user who gave their right password here, newest
// first. It outlives sign-outs on purpose: it only says "this browser has
// signed in as this user before", which keeps failures elsewhere from
// holding the user back (signin's checkPassword).
const deviceCookie = "gh_device"

func (s *Server) deviceTokens(r *http.Request) []string {
	v := s.cookieValue(r, deviceCookie)
	if v == "" {
		return nil
	}
	tokens := strings.Split(v, ".")
	return tokens[:min(len(tokens), gatehouse.MaxDevicesPerBrowser)]
}

// addDeviceToken puts token first in the device cookie, once, keeping at
// most MaxDevicesPerBrowser.
func (s *Server) addDeviceToken(w http.ResponseWriter, r *http.Request, token string, until time.Time) {
	tokens := slices.DeleteFunc(s.deviceTokens(r), func(t string) bool { return t == token })
	tokens = append([]string{token}, tokens...)
	tokens = tokens[:min(len(tokens), gatehouse.MaxDevicesPerBrowser)]
	s.setCookie(w, deviceCookie, strings.Join(tokens, "."), until)
}
