// Package deploy holds the files that install Gatehouse: the systemd unit
// (gatehouse.service) with its settings file (gatehouse.env.example), and
// the container build (Containerfile). It has no code; its tests read the
// files as systemd and a container engine would and check the properties
// docs/operations.md promises (no Docker engine runs in the tests).
package deploy
