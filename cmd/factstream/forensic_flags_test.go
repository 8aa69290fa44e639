package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestReplayHistoryStatusBadFlags: every bad flag fails with an error naming it, before anything
// connects (the NATS URL goes nowhere).
func TestReplayHistoryStatusBadFlags(t *testing.T) {
	checkBadFlags(t, []badFlags{
		{[]string{"replay"}, "--host is required"},
		{[]string{"replay", "--host", "web.1"}, `--host "web.1": not a host name`},
		{[]string{"replay", "--host", "web-1", "--until-time", "yesterday"}, `--until-time "yesterday": want RFC 3339`},
		{[]string{"replay", "--host", "web-1", "--until-time", "-5m"}, `--until-time "-5m"`},
		{[]string{"replay", "--host", "web-1", "--until-time", "10m", "--until-seq", "5"}, "give one bound, not both"},
		{[]string{"replay", "--host", "web-1", "--until-seq", "0"}, "--until-seq 0: FACT_RAW sequences start at 1"},
		{[]string{"replay", "--host", "web-1", "--until-seq", "-3"}, `invalid argument "-3" for "--until-seq"`},
		{[]string{"replay", "--host", "web-1", "--inode", "abc"}, `--inode "abc": want DEV:INO or INO`},
		{[]string{"replay", "--host", "web-1", "--inode", "0:12"}, `--inode "0:12"`},
		{[]string{"replay", "--host", "web-1", "--inode", "66307:"}, `--inode "66307:"`},
		{[]string{"replay", "--host", "web-1", "--lateness", "-1s"}, "--lateness -1s: must not be negative"},
		{[]string{"replay", "--host", "web-1", "extra"}, `unknown command "extra"`},
		{[]string{"history", "--path", "/etc"}, "--host is required"},
		{[]string{"history", "--host", "web-1"}, "--path is required"},
		{[]string{"history", "--host", "web-1", "--path", "etc/ssh"}, `--path "etc/ssh": not an absolute path or glob`},
		{[]string{"history", "--host", "web-1", "--path", "/etc/[ssh"}, `--path "/etc/[ssh"`},
		{[]string{"history", "--host", "web-1", "--path", "/etc", "--from", "soon"}, `--from "soon": want RFC 3339`},
		{[]string{"history", "--host", "web-1", "--path", "/etc", "--to", "2026-13-01"}, `--to "2026-13-01"`},
		{[]string{"history", "--host", "web-1", "--path", "/etc", "--from", "10m", "--to", "1h"}, "is after --to"},
		{[]string{"history", "--host", "web-1", "--path", "/etc", "--resolver-path", "srv"}, `--resolver-path "srv"`},
		{[]string{"history", "--host", "w*", "--path", "/etc"}, `--host "w*"`},
		{[]string{"status", "--timeout", "0s"}, "--timeout 0s: must be positive"},
		{[]string{"status", "--json=maybe"}, `invalid argument "maybe" for "--json"`},
	})
}

// badFlags is a command line with a bad flag and what its error must say.
type badFlags struct {
	args []string
	want string
}

// checkBadFlags runs each command line against a NATS URL that goes nowhere: each must fail quickly
// with its error, before connecting, and print nothing on stdout.
func checkBadFlags(t *testing.T, tests []badFlags) {
	t.Helper()
	nowhere := []string{"--nats", "nats://127.0.0.1:1", "--log-level", "error"}
	for _, tt := range tests {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		var out strings.Builder
		start := time.Now()
		_, err := runCmd(ctx, &out, append(tt.args, nowhere...)...)
		cancel()
		switch {
		case err == nil:
			t.Errorf("%q: no error", tt.args)
		case !strings.Contains(err.Error(), tt.want):
			t.Errorf("%q: error %q, want %q", tt.args, err, tt.want)
		case strings.Contains(err.Error(), "connecting"):
			t.Errorf("%q: connected before checking the flags: %v", tt.args, err)
		case time.Since(start) > 2*time.Second:
			t.Errorf("%q: took %s to fail", tt.args, time.Since(start))
		}
		if out.Len() > 0 {
			t.Errorf("%q: wrote to stdout: %q", tt.args, out.String())
		}
	}
}

// TestReplayHistoryStatusHelp: each command's help has examples and its flags with their defaults.
func TestReplayHistoryStatusHelp(t *testing.T) {
	for sub, wants := range map[string][]string{
		"replay":  {"--until-time", "--until-seq", "--inode", "DEV:INO", "--json", "--no-progress"},
		"history": {"--path", "--from", "--to", "--resolver-path", "10m", "--json"},
		"status":  {"--timeout duration", "(default 2s)", "--json", "not answering"},
	} {
		out, err := execute(context.Background(), sub, "--help")
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range append(wants, "Examples:", "factstream "+sub, "--nats", "(default \"nats://") {
			if !strings.Contains(out, want) {
				t.Errorf("%s --help lacks %q", sub, want)
			}
		}
	}
}

func TestReplayParseInode(t *testing.T) {
	tests := []struct {
		in       string
		dev, ino uint64
		ok       bool
	}{
		{"12", 0, 12, true},
		{"66307:12", 66307, 12, true},
		{"0x10303:0xc", 0x10303, 12, true},
		{"0X10303:12", 0x10303, 12, true},
		{"012", 0, 12, true}, // decimal, not octal
		{"0", 0, 0, false},
		{"1:2:3", 0, 0, false},
		{":12", 0, 0, false},
		{"", 0, 0, false},
		{"-1", 0, 0, false},
	}
	for _, tt := range tests {
		dev, ino, err := parseInode(tt.in)
		if (err == nil) != tt.ok || (tt.ok && (dev != tt.dev || ino != tt.ino)) {
			t.Errorf("parseInode(%q) = %d, %d, %v; want %d, %d, ok %t", tt.in, dev, ino, err, tt.dev, tt.ino, tt.ok)
		}
	}
}

func TestHistoryParseMoment(t *testing.T) {
	now := time.Date(2026, 11, 25, 13, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"", time.Time{}, true},
		{"10m", now.Add(-10 * time.Minute), true},
		{"0s", now, true},
		{"2026-11-25T12:00:00Z", now.Add(-time.Hour), true},
		{"2026-11-25T13:00:00.5+01:00", time.Date(2026, 11, 25, 12, 0, 0, 5e8, time.UTC), true},
		{"-10m", time.Time{}, false},
		{"2026-11-25", time.Time{}, false},
		{"all", time.Time{}, false},
	}
	for _, tt := range tests {
		got, err := parseMoment("from", tt.in, now)
		if (err == nil) != tt.ok || !got.Equal(tt.want) {
			t.Errorf("parseMoment(%q) = %v, %v; want %v, ok %t", tt.in, got, err, tt.want, tt.ok)
		}
	}
}
