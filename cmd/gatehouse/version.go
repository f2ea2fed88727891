package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/gatehousehq/gatehouse/internal/sqlstore"
)

// cmdVersion prints what this binary is. It opens no database: the schema
// version is the one this binary migrates to.
func cmdVersion(ctx context.Context, e *env, args []string) error {
	var c Config
	fs := newFlagSet(e, "version", "version")
	if err := parse(fs, &c, nil, args, e); err != nil {
		return err
	}
	bi, _ := debug.ReadBuildInfo()
	schema, err := sqlstore.LatestSchemaVersion()
	if err != nil {
		return err
	}
	v := versionOf(bi)
	fmt.Fprintf(e.stdout, "gatehouse %s\ncommit     %s\ngo         %s\nschema     %d (the version this binary migrates a database to)\n",
		v.version, v.commit, runtime.Version(), schema)
	return nil
}

type buildVersion struct{ version, commit string }

// versionOf reads the main module's version ("devel" when unknown, as in
// a build from a checkout) and the commit, "+dirty" when the tree had
// changes, from the build information.
func versionOf(bi *debug.BuildInfo) buildVersion {
	v := buildVersion{version: "devel", commit: "unknown"}
	if bi == nil {
		return v
	}
	if mv := bi.Main.Version; mv != "" && mv != "(devel)" {
		v.version = mv
	}
	var modified bool
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.commit = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if modified && v.commit != "unknown" {
		v.commit += "+dirty"
	}
	return v
}
