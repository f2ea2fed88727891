package deploy

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// instruction is one Containerfile instruction, continuation lines joined.
type instruction struct {
	line int    // where it starts
	cmd  string // upper case: FROM, RUN, COPY …
	args string // the rest, as written
}

// execForm returns the arguments of a JSON-array instruction ("exec form":
// no shell runs it), or false for the shell form.
func (in instruction) execForm() ([]string, bool) {
	var argv []string
	if !strings.HasPrefix(strings.TrimSpace(in.args), "[") {
		return nil, false
	}
	if err := json.Unmarshal([]byte(in.args), &argv); err != nil {
		return nil, false
	}
	return argv, true
}

// stage is the instructions from one FROM to the next.
type stage struct {
	image, name string
	from        instruction
	body        []instruction
}

func (s stage) all(cmd string) []instruction {
	var out []instruction
	for _, in := range s.body {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// parseContainerfile reads a Containerfile the way the builder does:
// comment lines (and parser directives) are skipped, a line ending in a
// backslash continues on the next, the first word is the instruction.
func parseContainerfile(t *testing.T, path string) []stage {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ins []instruction
	var cur *instruction
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") || (line == "" && cur == nil) {
			continue
		}
		cont := strings.HasSuffix(line, `\`)
		line = strings.TrimSuffix(line, `\`)
		if cur == nil {
			cmd, args, _ := strings.Cut(line, " ")
			cur = &instruction{line: n, cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)}
		} else {
			cur.args += " " + strings.TrimSpace(line)
		}
		if !cont {
			ins = append(ins, *cur)
			cur = nil
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if cur != nil {
		t.Fatalf("%s: line %d continues past the end of the file", path, cur.line)
	}
	var stages []stage
	for _, in := range ins {
		if in.cmd == "FROM" {
			f := strings.Fields(in.args)
			s := stage{from: in}
			for _, w := range f {
				if !strings.HasPrefix(w, "--") {
					s.image = w
					break
				}
			}
			if i := slices.IndexFunc(f, func(w string) bool { return strings.EqualFold(w, "AS") }); i >= 0 && i+1 < len(f) {
				s.name = f[i+1]
			}
			stages = append(stages, s)
			continue
		}
		if len(stages) == 0 {
			if in.cmd != "ARG" {
				t.Fatalf("%s:%d: %s before the first FROM", path, in.line, in.cmd)
			}
			continue
		}
		stages[len(stages)-1].body = append(stages[len(stages)-1].body, in)
	}
	return stages
}

// pinned reports whether an image reference names one version: a digest,
// or a tag that holds a version number (not latest, not a bare name).
func pinned(image string) bool {
	if strings.Contains(image, "@sha256:") {
		return true
	}
	slash := strings.LastIndex(image, "/")
	i := strings.LastIndex(image, ":")
	if i <= slash {
		return false // no tag: latest
	}
	tag := image[i+1:]
	return tag != "latest" && regexp.MustCompile(`^v?[0-9]+\.[0-9]+(\.[0-9]+)?([-_.][A-Za-z0-9._-]+)?$`).MatchString(tag)
}

func TestPinnedRecognisesVersions(t *testing.T) {
	for image, want := range map[string]bool{
		"docker.io/library/golang:1.26.8-bookworm": true,
		"golang:1.26":                      true,
		"golang@sha256:0123abcd":           true,
		"golang":                           false,
		"golang:latest":                    false,
		"gcr.io/distroless/static:nonroot": false,
		"localhost:5000/golang":            false,
	} {
		if got := pinned(image); got != want {
			t.Errorf("pinned(%q) = %v, want %v", image, got, want)
		}
	}
}

// TestContainerfile checks the container build as a builder would read it:
// a build stage that makes a static, trimmed binary without OpenTelemetry,
// and a final stage of nothing but that binary and the CA certificates,
// run as a numeric non-root user, with the database in a volume and the
// server started without a shell.
func TestContainerfile(t *testing.T) {
	stages := parseContainerfile(t, "Containerfile")
	if len(stages) < 2 {
		t.Fatalf("%d stages, want a build stage and a final one", len(stages))
	}
	names := map[string]bool{}
	for _, s := range stages {
		if s.image != "scratch" && !names[s.image] && !pinned(s.image) {
			t.Errorf("line %d: FROM %s is not pinned to a version (a tag like 1.26.8-bookworm, or a digest)", s.from.line, s.image)
		}
		if s.name != "" {
			names[s.name] = true
		}
		for _, in := range s.all("ADD") {
			if regexp.MustCompile(`(?i)(https?|git)://|git@`).MatchString(in.args) {
				t.Errorf("line %d: ADD %s fetches from the network at build time, unchecked; download in a RUN with a checksum, or COPY", in.line, in.args)
			}
		}
	}

	build, final := stages[0], stages[len(stages)-1]
	// The binary: go build with the static flags.
	var built bool
	cgoOff := slices.ContainsFunc(build.all("ENV"), func(in instruction) bool {
		return regexp.MustCompile(`(^|\s)CGO_ENABLED=0(\s|$)`).MatchString(in.args)
	})
	for _, in := range build.all("RUN") {
		argv, exec := in.execForm()
		if !exec {
			argv = strings.Fields(in.args)
		}
		i := slices.Index(argv, "build")
		if i < 1 || !strings.HasSuffix(argv[i-1], "go") {
			continue
		}
		built = true
		cmdline := strings.Join(argv, " ")
		if !cgoOff && !strings.Contains(cmdline, "CGO_ENABLED=0") {
			t.Errorf("line %d: go build without CGO_ENABLED=0: the binary would need the C library the final image lacks", in.line)
		}
		if !slices.Contains(argv, "-trimpath") {
			t.Errorf("line %d: go build without -trimpath: the binary would carry the build machine's paths", in.line)
		}
		j := slices.Index(argv, "-tags")
		if j < 0 || j+1 >= len(argv) || !slices.Contains(strings.Split(argv[j+1], ","), "no_otel") {
			t.Errorf("line %d: go build without -tags no_otel: OpenTelemetry would be linked in", in.line)
		}
		if !strings.HasSuffix(argv[len(argv)-1], "/cmd/gatehouse") {
			t.Errorf("line %d: go build of %s, want ./cmd/gatehouse", in.line, argv[len(argv)-1])
		}
	}
	if !built {
		t.Fatalf("the build stage %q runs no go build", build.name)
	}

	// The final stage: no shell to run anything.
	if final.image != "scratch" && !strings.Contains(final.image, "distroless/static") {
		t.Errorf("final stage FROM %s: want scratch or distroless/static, an image with no shell or package manager", final.image)
	}
	for _, in := range final.body {
		if in.cmd == "RUN" {
			t.Errorf("line %d: RUN in the final stage: it has no shell; prepare files in the build stage", in.line)
		}
		if c, ok := healthCommand(in); ok {
			if _, exec := c.execForm(); !exec {
				t.Errorf("line %d: %s in shell form: the final image has no shell", in.line, in.cmd)
			}
		}
	}
	if final.image == "scratch" {
		ca := slices.ContainsFunc(final.all("COPY"), func(in instruction) bool {
			return strings.HasPrefix(in.args, "--from=") && strings.Contains(in.args, " /etc/ssl/certs/")
		})
		if !ca {
			t.Error("the final stage on scratch copies no CA certificates to /etc/ssl/certs: TLS to SMTP, Twilio or PostgreSQL would fail")
		}
	}

	users := final.all("USER")
	if len(users) == 0 {
		t.Fatal("the final stage sets no USER: the server would run as root")
	}
	user := strings.TrimSpace(users[len(users)-1].args)
	for _, id := range strings.Split(user, ":") {
		n, err := strconv.Atoi(id)
		if err != nil || n == 0 {
			t.Errorf("USER %s: want a numeric, non-root user and group (a name needs /etc/passwd, and Kubernetes' runAsNonRoot checks the number)", user)
		}
	}

	env := map[string]string{}
	for _, in := range final.all("ENV") {
		for _, kv := range strings.Fields(in.args) {
			if k, v, ok := strings.Cut(kv, "="); ok {
				env[k] = v
			}
		}
	}
	db, ok := strings.CutPrefix(env["GATEHOUSE_DATABASE_URL"], "sqlite:")
	if !ok || !strings.HasPrefix(db, "/var/lib/gatehouse/") {
		t.Errorf("GATEHOUSE_DATABASE_URL=%q: want sqlite:/var/lib/gatehouse/…, inside the volume", env["GATEHOUSE_DATABASE_URL"])
	}
	addr := env["GATEHOUSE_ADDR"]
	host, port, _ := strings.Cut(addr, ":")
	if host != "" && host != "0.0.0.0" && host != "[::]" {
		t.Errorf("GATEHOUSE_ADDR=%q: inside a container the server must listen beyond loopback to be reached", addr)
	}
	volumes := strings.Join(instructionArgs(final.all("VOLUME")), " ")
	if !strings.Contains(volumes, "/var/lib/gatehouse") {
		t.Errorf("VOLUME %q: want /var/lib/gatehouse, so the database outlives the container", volumes)
	}
	exposed := strings.Fields(strings.Join(instructionArgs(final.all("EXPOSE")), " "))
	if port == "" || !slices.ContainsFunc(exposed, func(p string) bool { return strings.TrimSuffix(p, "/tcp") == port }) {
		t.Errorf("EXPOSE %v does not name the listening port %q", exposed, port)
	}

	entries := final.all("ENTRYPOINT")
	if len(entries) != 1 {
		t.Fatalf("%d ENTRYPOINTs in the final stage, want one", len(entries))
	}
	argv, ok := entries[0].execForm()
	if !ok || len(argv) < 2 {
		t.Fatalf("ENTRYPOINT %s: want the exec form [\"/usr/local/bin/gatehouse\", \"serve\"] (no shell; signals reach the server)", entries[0].args)
	}
	if !filepath.IsAbs(argv[0]) || filepath.Base(argv[0]) != "gatehouse" || argv[1] != "serve" {
		t.Errorf("ENTRYPOINT %q: want the absolute path of gatehouse, then serve", argv)
	}
	copied := slices.ContainsFunc(final.all("COPY"), func(in instruction) bool {
		f := strings.Fields(in.args)
		return len(f) > 0 && f[len(f)-1] == argv[0]
	})
	if !copied {
		t.Errorf("the final stage copies nothing to %s, the ENTRYPOINT", argv[0])
	}
}

// healthCommand returns the command a CMD or HEALTHCHECK instruction runs
// (a HEALTHCHECK's options and CMD word removed; NONE runs nothing).
func healthCommand(in instruction) (instruction, bool) {
	switch in.cmd {
	case "CMD":
		return in, true
	case "HEALTHCHECK":
		f := strings.Fields(in.args)
		for i, w := range f {
			if strings.EqualFold(w, "NONE") {
				return instruction{}, false
			}
			if strings.EqualFold(w, "CMD") {
				return instruction{line: in.line, cmd: in.cmd, args: strings.Join(f[i+1:], " ")}, true
			}
		}
	}
	return instruction{}, false
}

func instructionArgs(ins []instruction) []string {
	var out []string
	for _, in := range ins {
		if argv, ok := in.execForm(); ok {
			out = append(out, argv...)
		} else {
			out = append(out, in.args)
		}
	}
	return out
}

// unit is a systemd unit file: section -> key -> every value given.
type unit map[string]map[string][]string

// parseUnit reads a unit file as systemd does: [Section] headers, Key=Value
// lines, # and ; comments, a trailing backslash continuing a line.
func parseUnit(t *testing.T, path string) unit {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	u := unit{}
	section := ""
	var pending string
	for n, raw := range strings.Split(string(b), "\n") {
		line := strings.TrimSpace(raw)
		if pending == "" && (line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";")) {
			continue
		}
		if strings.HasSuffix(line, `\`) {
			pending += strings.TrimSuffix(line, `\`) + " "
			continue
		}
		line, pending = pending+line, ""
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			section = line[1 : len(line)-1]
			if u[section] == nil {
				u[section] = map[string][]string{}
			}
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || section == "" {
			t.Fatalf("%s:%d: %q is not Key=Value in a section", path, n+1, line)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		u[section][k] = append(u[section][k], v)
	}
	return u
}

// last is the value that counts for a key given once or more.
func (u unit) last(section, key string) string {
	vs := u[section][key]
	if len(vs) == 0 {
		return ""
	}
	return vs[len(vs)-1]
}

// TestSystemdUnit checks that the unit runs gatehouse serve as its own
// user with its settings file, keeps files private, restarts after a
// crash, and is confined: read-only system, no home folders, a private
// /tmp, no privilege gain.
func TestSystemdUnit(t *testing.T) {
	u := parseUnit(t, "gatehouse.service")
	for _, s := range []string{"Unit", "Service", "Install"} {
		if u[s] == nil {
			t.Errorf("no [%s] section", s)
		}
	}
	exec := u["Service"]["ExecStart"]
	if len(exec) != 1 {
		t.Fatalf("ExecStart given %d times, want once", len(exec))
	}
	argv := strings.Fields(strings.TrimLeft(exec[0], "-@+!:|"))
	if len(argv) < 2 || !filepath.IsAbs(argv[0]) || filepath.Base(argv[0]) != "gatehouse" || argv[1] != "serve" {
		t.Errorf("ExecStart=%s: want /…/gatehouse serve", exec[0])
	}

	want := map[string]string{
		"NoNewPrivileges":         "yes",
		"ProtectSystem":           "strict",
		"ProtectHome":             "yes",
		"PrivateTmp":              "yes",
		"PrivateDevices":          "yes",
		"UMask":                   "0077",
		"EnvironmentFile":         "/etc/gatehouse/gatehouse.env",
		"StateDirectory":          "gatehouse",
		"StateDirectoryMode":      "0700",
		"Restart":                 "on-failure",
		"CapabilityBoundingSet":   "",
		"RestrictSUIDSGID":        "yes",
		"ProtectKernelTunables":   "yes",
		"ProtectKernelModules":    "yes",
		"ProtectControlGroups":    "yes",
		"RestrictNamespaces":      "yes",
		"LockPersonality":         "yes",
		"MemoryDenyWriteExecute":  "yes",
		"SystemCallArchitectures": "native",
	}
	for k, v := range want {
		if _, ok := u["Service"][k]; !ok {
			t.Errorf("[Service] lacks %s=%s", k, v)
		} else if got := u.last("Service", k); got != v {
			t.Errorf("%s=%s, want %s", k, got, v)
		}
	}
	if user := u.last("Service", "User"); (user == "" || user == "root" || user == "0") && u.last("Service", "DynamicUser") != "yes" {
		t.Errorf("User=%q and no DynamicUser=yes: the server would run as root", user)
	}
	if !slices.Contains(u["Service"]["SystemCallFilter"], "@system-service") {
		t.Errorf("SystemCallFilter=%v: want @system-service", u["Service"]["SystemCallFilter"])
	}

	// The settings file puts the database and the key where the unit lets
	// the server write and keeps them private: the state folder.
	state := "/var/lib/" + u.last("Service", "StateDirectory") + "/"
	vars := envFile(t, "gatehouse.env.example")
	if db, _ := strings.CutPrefix(vars["GATEHOUSE_DATABASE_URL"], "sqlite:"); !strings.HasPrefix(db, state) {
		t.Errorf("gatehouse.env.example: GATEHOUSE_DATABASE_URL=%q is outside %s, which ProtectSystem=strict leaves writable", vars["GATEHOUSE_DATABASE_URL"], state)
	}
	if !strings.HasPrefix(vars["GATEHOUSE_SECRET_KEY_FILE"], state) {
		t.Errorf("gatehouse.env.example: GATEHOUSE_SECRET_KEY_FILE=%q is outside %s", vars["GATEHOUSE_SECRET_KEY_FILE"], state)
	}
}

// envFile returns the variables a systemd EnvironmentFile sets (comments
// and blank lines skipped).
func envFile(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	for l := range strings.Lines(string(b)) {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") || strings.HasPrefix(l, ";") {
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			t.Fatalf("%s: %q is not NAME=value", path, l)
		}
		vars[k] = v
	}
	return vars
}

// TestSystemdAcceptsTheUnit asks systemd itself, where it is installed:
// systemd-analyze verify must find nothing to say, and its offline security
// review must rate the unit's exposure low.
func TestSystemdAcceptsTheUnit(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed")
	}
	// verify checks that ExecStart's program exists: stand this test's own
	// binary in for gatehouse.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("gatehouse.service")
	if err != nil {
		t.Fatal(err)
	}
	text := regexp.MustCompile(`(?m)^ExecStart=/\S+`).ReplaceAllString(string(b), "ExecStart="+self)
	path := filepath.Join(t.TempDir(), "gatehouse.service")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, analyze, "verify", "--man=no", path).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	out, err = exec.CommandContext(ctx, analyze, "security", "--offline=yes", "--no-pager", path).CombinedOutput()
	if err != nil {
		t.Logf("systemd-analyze security --offline is not available here (%v); skipping the exposure check", err)
		return
	}
	m := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("systemd-analyze security printed no exposure level:\n%s", out)
	}
	if level, _ := strconv.ParseFloat(string(m[1]), 64); level > 2.0 {
		t.Errorf("systemd rates the unit's exposure %.1f, want at most 2.0 (of 10):\n%s", level, out)
	}
}
