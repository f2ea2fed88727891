package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Config is every setting of the binary, filled from flags, then
// GATEHOUSE_* variables, then defaults (a flag wins over its variable).
type Config struct {
	Addr          string
	DatabaseURL   string
	SecretKeyFile string
	// OldSecretKeyFiles are comma-separated files of keys being retired.
	OldSecretKeyFiles string
	PublicURL         string
	TrustedProxies    string
	Dev               bool
	SessionIdle       time.Duration
	SessionCache      time.Duration
	SessionAbsolute   time.Duration
	HashWorkers       int
	HashMaxWait       time.Duration
	Argon2Memory      uint
	Argon2Time        uint
	LogFormat         string
	LogLevel          string
	DataDir           string // demo only
	// NoMigrate (serve) opens the database as it is: it must exist at the
	// current schema version.
	NoMigrate bool
	// AllowPostgresDatabase (serve, migrate) permits PostgreSQL's
	// maintenance database "postgres".
	AllowPostgresDatabase bool

	clock clockOptions // not a setting: tests inject it through env

	SMTPURL          string
	EmailFrom        string
	SMSProvider      string
	TwilioSID        string
	TwilioToken      string
	TwilioFrom       string
	TwilioAPIURL     string
	SMSWebhookURL    string
	SMSWebhookSecret string

	// Forward-auth (cmd/gatehouse/forwardauth.go).
	AllowedReturnHosts string
	CookieDomain       string
}

// setting is one configuration entry: a flag and its variable.
type setting struct {
	flag, env, usage string
	def              string
	bind             func(fs *flag.FlagSet, c *Config, name, def, usage string)
}

func stringSetting(flagName, env, def, usage string, field func(*Config) *string) setting {
	return setting{flag: flagName, env: env, def: def, usage: usage, bind: func(fs *flag.FlagSet, c *Config, name, def, usage string) {
		fs.StringVar(field(c), name, def, usage)
	}}
}

func boolSetting(flagName, env, def, usage string, field func(*Config) *bool) setting {
	return setting{flag: flagName, env: env, def: def, usage: usage, bind: func(fs *flag.FlagSet, c *Config, name, def, usage string) {
		b, _ := strconv.ParseBool(def)
		fs.BoolVar(field(c), name, b, usage)
	}}
}

func durationSetting(flagName, env, def, usage string, field func(*Config) *time.Duration) setting {
	return setting{flag: flagName, env: env, def: def, usage: usage, bind: func(fs *flag.FlagSet, c *Config, name, def, usage string) {
		d, _ := time.ParseDuration(def)
		fs.DurationVar(field(c), name, d, usage)
	}}
}

func uintSetting(flagName, env, def, usage string, field func(*Config) *uint) setting {
	return setting{flag: flagName, env: env, def: def, usage: usage, bind: func(fs *flag.FlagSet, c *Config, name, def, usage string) {
		n, _ := strconv.ParseUint(def, 10, 32)
		fs.UintVar(field(c), name, uint(n), usage)
	}}
}

func intSetting(flagName, env, def, usage string, field func(*Config) *int) setting {
	return setting{flag: flagName, env: env, def: def, usage: usage, bind: func(fs *flag.FlagSet, c *Config, name, def, usage string) {
		n, _ := strconv.Atoi(def)
		fs.IntVar(field(c), name, n, usage)
	}}
}

// The settings, by the names of docs/design.md §5.
var (
	sAddr = stringSetting("addr", "GATEHOUSE_ADDR", "127.0.0.1:8080", "listen address",
		func(c *Config) *string { return &c.Addr })
	sDatabase = stringSetting("database-url", "GATEHOUSE_DATABASE_URL", "sqlite:gatehouse.db", "sqlite:PATH or postgres://…",
		func(c *Config) *string { return &c.DatabaseURL })
	sSecret = stringSetting("secret-key-file", "GATEHOUSE_SECRET_KEY_FILE", "", "file holding the server secret (at least 32 bytes, e.g. from: head -c 32 /dev/urandom), or a key list: a first line \"# gatehouse keys\", then one key a line (at least 32 characters), the current first; generated beside the SQLite file in dev mode, required otherwise",
		func(c *Config) *string { return &c.SecretKeyFile })
	sOldSecrets = stringSetting("old-secret-key-files", "GATEHOUSE_OLD_SECRET_KEY_FILES", "", "comma-separated key files being retired: what their keys made still works and is re-keyed under the current key as it is used (see gatehouse keys check)",
		func(c *Config) *string { return &c.OldSecretKeyFiles })
	sPublicURL = stringSetting("public-url", "GATEHOUSE_PUBLIC_URL", "", "the address users see, e.g. https://login.example.com (https makes cookies Secure); default http://ADDR",
		func(c *Config) *string { return &c.PublicURL })
	sTrusted = stringSetting("trusted-proxies", "GATEHOUSE_TRUSTED_PROXIES", "", "comma-separated CIDRs of proxies whose X-Forwarded-For / Forwarded is believed",
		func(c *Config) *string { return &c.TrustedProxies })
	sReturnHosts = stringSetting("allowed-return-hosts", "GATEHOUSE_ALLOWED_RETURN_HOSTS", "", "comma-separated hosts that forward-auth answers for and a sign-in may return to: app.example.com, or .example.com for example.com and every host under it; Gatehouse's own host always",
		func(c *Config) *string { return &c.AllowedReturnHosts })
	sCookieDomain = stringSetting("cookie-domain", "GATEHOUSE_COOKIE_DOMAIN", "", "share the session cookie with every host under this domain (e.g. example.com for login.example.com and app.example.com), for single sign-on through forward-auth; empty: host-only",
		func(c *Config) *string { return &c.CookieDomain })
	sDev = boolSetting("dev", "GATEHOUSE_DEV", "false", "development mode: outbox page at /dev/outbox, secret generated beside the SQLite file",
		func(c *Config) *bool { return &c.Dev })
	sIdle = durationSetting("session-idle", "GATEHOUSE_SESSION_IDLE", "12h", "a session ends after this long unused",
		func(c *Config) *time.Duration { return &c.SessionIdle })
	sSessionCache = durationSetting("session-cache", "GATEHOUSE_SESSION_CACHE", "1s", "how long a node may answer a session check from its own check of that session a moment ago (0 to 1s; 0 reads the database every time); a change on another node reaches it within this",
		func(c *Config) *time.Duration { return &c.SessionCache })
	sAbsolute = durationSetting("session-absolute", "GATEHOUSE_SESSION_ABSOLUTE", "168h", "a session ends this long after sign-in, used or not",
		func(c *Config) *time.Duration { return &c.SessionAbsolute })
	sHashWorkers = intSetting("hash-workers", "GATEHOUSE_HASH_WORKERS", "0", "password hashes at once (0: one per CPU)",
		func(c *Config) *int { return &c.HashWorkers })
	sHashWait = durationSetting("hash-max-wait", "GATEHOUSE_HASH_MAX_WAIT", "2s", "how long a sign-in waits for a hashing slot before 503",
		func(c *Config) *time.Duration { return &c.HashMaxWait })
	sArgonMemory = uintSetting("argon2-memory", "GATEHOUSE_ARGON2_MEMORY", "19456", "argon2id memory in KiB for new hashes",
		func(c *Config) *uint { return &c.Argon2Memory })
	sArgonTime = uintSetting("argon2-time", "GATEHOUSE_ARGON2_TIME", "2", "argon2id passes for new hashes",
		func(c *Config) *uint { return &c.Argon2Time })
	sLogFormat = stringSetting("log-format", "GATEHOUSE_LOG_FORMAT", "auto", "log format: text, json, or auto (text on a terminal, JSON otherwise)",
		func(c *Config) *string { return &c.LogFormat })
	sLogLevel = stringSetting("log-level", "GATEHOUSE_LOG_LEVEL", "info", "log level: debug, info, warn or error",
		func(c *Config) *string { return &c.LogLevel })
	sNoMigrate = boolSetting("no-migrate", "GATEHOUSE_NO_MIGRATE", "false", "serve the database as it is: refuse to start unless it exists at this version's schema (run gatehouse migrate first)",
		func(c *Config) *bool { return &c.NoMigrate })
	sAllowPostgresDB = boolSetting("allow-postgres-database", "GATEHOUSE_ALLOW_POSTGRES_DATABASE", "false", "allow --database-url to name PostgreSQL's maintenance database \"postgres\" (refused otherwise: make a database of its own with createdb gatehouse)",
		func(c *Config) *bool { return &c.AllowPostgresDatabase })
	sDataDir = stringSetting("data-dir", "GATEHOUSE_DATA_DIR", "gatehouse-demo", "demo: folder for the demo's database and secret",
		func(c *Config) *string { return &c.DataDir })
)

// Delivery of codes (docs/design.md §5).
var (
	sSMTP = stringSetting("smtp-url", "GATEHOUSE_SMTP_URL", "", "smtp://user:pass@host:587 (STARTTLS required), smtps://user:pass@host:465, or smtp://host:port?tls=none (loopback only); required outside dev mode",
		func(c *Config) *string { return &c.SMTPURL })
	sFrom = stringSetting("email-from", "GATEHOUSE_EMAIL_FROM", "", "sender address of e-mails, e.g. \"Gatehouse <login@example.com>\"",
		func(c *Config) *string { return &c.EmailFrom })
	sSMSProvider = stringSetting("sms-provider", "GATEHOUSE_SMS_PROVIDER", "", "twilio, webhook or outbox (dev mode only); empty: no SMS (the outbox in dev mode)",
		func(c *Config) *string { return &c.SMSProvider })
	sTwilioSID = stringSetting("twilio-account-sid", "GATEHOUSE_TWILIO_ACCOUNT_SID", "", "Twilio account SID (AC…)",
		func(c *Config) *string { return &c.TwilioSID })
	sTwilioToken = stringSetting("twilio-auth-token", "GATEHOUSE_TWILIO_AUTH_TOKEN", "", "Twilio auth token (prefer the variable: flags show in the process list)",
		func(c *Config) *string { return &c.TwilioToken })
	sTwilioFrom = stringSetting("twilio-from", "GATEHOUSE_TWILIO_FROM", "", "Twilio sender: an E.164 number or a Messaging Service SID (MG…)",
		func(c *Config) *string { return &c.TwilioFrom })
	sTwilioAPI = stringSetting("twilio-api-url", "GATEHOUSE_TWILIO_API_URL", "https://api.twilio.com", "base of Twilio's API (a regional edge, or a test server)",
		func(c *Config) *string { return &c.TwilioAPIURL })
	sWebhookURL = stringSetting("sms-webhook-url", "GATEHOUSE_SMS_WEBHOOK_URL", "", "URL that receives a signed POST {\"to\",\"body\"} per SMS",
		func(c *Config) *string { return &c.SMSWebhookURL })
	sWebhookSecret = stringSetting("sms-webhook-secret", "GATEHOUSE_SMS_WEBHOOK_SECRET", "", "at least 32 bytes keying the webhook's HMAC-SHA256 signature (prefer the variable)",
		func(c *Config) *string { return &c.SMSWebhookSecret })
	smsSettings      = []setting{sSMSProvider, sTwilioSID, sTwilioToken, sTwilioFrom, sTwilioAPI, sWebhookURL, sWebhookSecret}
	deliverySettings = concat([]setting{sSMTP, sFrom}, smsSettings)
)

// serverSettings are what serve takes; demo takes most of them too.
var (
	logSettings     = []setting{sLogFormat, sLogLevel}
	hashSettings    = []setting{sHashWorkers, sHashWait, sArgonMemory, sArgonTime}
	serverSettings  = concat([]setting{sAddr, sDatabase, sNoMigrate, sAllowPostgresDB, sSecret, sOldSecrets, sPublicURL, sTrusted, sReturnHosts, sCookieDomain, sDev, sIdle, sAbsolute, sSessionCache}, deliverySettings, hashSettings, logSettings)
	demoSettings    = concat([]setting{sAddr, sDataDir, sPublicURL, sTrusted, sIdle, sAbsolute, sSessionCache}, deliverySettings, hashSettings, logSettings)
	dataSettings    = concat([]setting{sDatabase}, logSettings)
	migrateSettings = concat([]setting{sDatabase, sAllowPostgresDB}, logSettings)
	userSettings    = concat([]setting{sDatabase}, hashSettings, logSettings)
)

func concat(lists ...[]setting) []setting {
	var out []setting
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// bind registers settings on fs, each usage naming its variable.
func bind(fs *flag.FlagSet, c *Config, settings []setting) {
	for _, s := range settings {
		s.bind(fs, c, s.flag, s.def, s.usage+" ($"+s.env+")")
	}
}

// applyEnv sets every flag that was not given on the command line from its
// variable, when that is set. A variable that does not parse is an error
// naming it and saying what it takes.
func applyEnv(fs *flag.FlagSet, settings []setting, getenv func(string) string) error {
	given := make(map[string]bool)
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for _, s := range settings {
		v := getenv(s.env)
		if given[s.flag] || v == "" {
			continue
		}
		if f := fs.Lookup(s.flag); f != nil && !valueParses(f, v) {
			return fmt.Errorf("%s=%q: %s", s.env, v, valueHint(f, v))
		}
		if err := fs.Set(s.flag, v); err != nil {
			return fmt.Errorf("%s=%q: %v", s.env, v, err)
		}
	}
	return nil
}

// parseFlags parses args into c with env fallback. It returns flag.ErrHelp
// (the usage printed) for --help, and a usage error of one line, saying
// what to write instead, for bad flags.
func parseFlags(fs *flag.FlagSet, c *Config, settings []setting, args []string, getenv func(string) string) error {
	bind(fs, c, settings)
	// The flag package shows the usage on every problem; here only on
	// --help, and every problem is one line.
	help := fs.Usage
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			help()
			return err
		}
		msg := diagnose(fs, args)
		if msg == "" {
			msg = err.Error()
		}
		return usageError("%s: %s (gatehouse %s --help lists its flags)", fs.Name(), msg, fs.Name())
	}
	if fs.NArg() > 0 {
		if hint := boolAhead(fs, args, len(args)-fs.NArg()); hint != "" {
			return usageError("%s: %s", fs.Name(), hint)
		}
		return usageError("%s: unexpected argument %q (flags are written --NAME VALUE or --NAME=VALUE)", fs.Name(), fs.Arg(0))
	}
	if err := applyEnv(fs, settings, getenv); err != nil {
		return usageError("%v", err)
	}
	return nil
}

// usageErr is bad input on the command line: one line, exit status 2.
type usageErr struct{ msg string }

func (e *usageErr) Error() string { return e.msg }

func usageError(format string, args ...any) error {
	return &usageErr{msg: fmt.Sprintf(format, args...)}
}

// validateServe checks the settings that serve and demo share, reporting
// every problem at once.
func (c *Config) validate() error {
	var problems []string
	if c.SessionIdle <= 0 || c.SessionAbsolute <= 0 || c.SessionIdle > c.SessionAbsolute {
		problems = append(problems, "--session-idle and --session-absolute must be positive, idle no longer than absolute")
	}
	if c.SessionCache < 0 || c.SessionCache > time.Second {
		problems = append(problems, "--session-cache must be between 0 and 1s, such as 500ms")
	}
	if c.HashWorkers < 0 {
		problems = append(problems, "--hash-workers must not be negative")
	}
	if c.HashMaxWait <= 0 {
		problems = append(problems, "--hash-max-wait must be positive")
	}
	switch c.LogFormat {
	case "auto", "text", "json":
	default:
		problems = append(problems, "--log-format must be auto, text or json")
	}
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		problems = append(problems, "--log-level must be debug, info, warn or error")
	}
	if msg := checkAddr(c.Addr); msg != "" {
		problems = append(problems, msg)
	} else if c.Dev && !loopbackAddr(c.Addr) {
		problems = append(problems, fmt.Sprintf("dev mode and the demo show every code and password link at /dev/outbox, so they listen on loopback only: --addr %q is not a loopback address (use 127.0.0.1:PORT, [::1]:PORT or localhost:PORT)", c.Addr))
	}
	if len(problems) > 0 {
		return usageError("%s", strings.Join(problems, "; "))
	}
	return nil
}

// loopbackAddr reports whether a listen address binds loopback only: an IP
// in 127.0.0.0/8 or ::1, or the name localhost. An empty host (":8080")
// binds every interface.
func loopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// checkAddr says what is wrong with a listen address, "" when nothing.
func checkAddr(addr string) string {
	_, port, err := net.SplitHostPort(addr)
	if err == nil {
		if _, err := strconv.ParseUint(port, 10, 16); err == nil {
			return ""
		}
	}
	example := "127.0.0.1:8080"
	if _, err := strconv.ParseUint(strings.TrimPrefix(addr, ":"), 10, 16); err == nil {
		example = "127.0.0.1:" + strings.TrimPrefix(addr, ":")
	}
	return fmt.Sprintf("--addr (GATEHOUSE_ADDR) %q: write host:port, such as %s (or :PORT for every interface)", addr, example)
}
