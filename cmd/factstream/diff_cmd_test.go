package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/factstream/factstream/pipeline/changeset"
)

// TestDiffBadFlags: every bad flag of diff fails with an error naming it, before anything connects.
func TestDiffBadFlags(t *testing.T) {
	checkBadFlags(t, []badFlags{
		{[]string{"diff"}, "--host is required"},
		{[]string{"diff", "--host", "web.1"}, `--host "web.1": not a host name`},
		{[]string{"diff", "--host", "web-1", "--path", ""}, "--path is required"},
		{[]string{"diff", "--host", "web-1", "--path", "etc"}, `--path "etc": not an absolute path or glob`},
		{[]string{"diff", "--host", "web-1", "--path", "/etc/[x"}, `--path "/etc/[x"`},
		{[]string{"diff", "--host", "web-1", "--from", "before"}, `--from "before": want RFC 3339`},
		{[]string{"diff", "--host", "web-1", "--to", "later"}, `--to "later": want RFC 3339`},
		{[]string{"diff", "--host", "web-1", "--from", "10m", "--to", "1h"}, "is after --to"},
		{[]string{"diff", "--host", "web-1", "--resolver-path", "srv"}, `--resolver-path "srv"`},
		{[]string{"diff", "--host", "web-1", "--all=sometimes"}, `invalid argument "sometimes" for "--all"`},
		{[]string{"diff", "--host", "web-1", "extra"}, `unknown command "extra"`},
	})
}

// TestDiffHelp: diff's help has examples and its flags with their defaults.
func TestDiffHelp(t *testing.T) {
	out, err := execute(context.Background(), "diff", "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Examples:", "factstream diff", "--from string", `(default "baseline")`, "--to", "--path",
		"--all", "--json", "--resolver-path", "--no-progress", "(default \"nats://"} {
		if !strings.Contains(out, want) {
			t.Errorf("diff --help lacks %q", want)
		}
	}
}

// TestDiffOutput: each kind's text line and JSON object, a path that is not UTF-8, and the gaps first.
func TestDiffOutput(t *testing.T) {
	r := &changeset.Report{Gaps: []changeset.Gap{{Time: 1_700_000_000_000_000_000, Dev: 66307, Reason: "loss", Lost: 4}},
		Changes: []changeset.Change{
			{Kind: changeset.Added, Path: []byte("/m/a"), Dev: 1, Ino: 2, Hash: "sha256:aa", Mode: 0o100644, UID: 1000, GID: 1000},
			{Kind: changeset.Added, Path: []byte("/m/e"), Dev: 1, Ino: 9, Mode: 0o100600},
			{Kind: changeset.Removed, Path: []byte("/m/b c"), Dev: 1, Ino: 3},
			{Kind: changeset.Renamed, Path: []byte("/m/n\xff"), OldPath: []byte("/m/o"), Dev: 1, Ino: 4},
			{Kind: changeset.Content, Path: []byte("/m/c"), Dev: 1, Ino: 5, OldHash: "sha256:01", Hash: "sha256:02"},
			{Kind: changeset.Content, Path: []byte("/m/d"), Dev: 1, Ino: 6, OldHash: "", HashState: "too_large"},
			{Kind: changeset.Mode, Path: []byte("/m/c"), Dev: 1, Ino: 5, OldMode: 0o100644, Mode: 0o100600},
			{Kind: changeset.Owner, Path: []byte("/m/c"), Dev: 1, Ino: 5, UID: 1000, GID: 1000},
			{Kind: changeset.Drift, Path: []byte("/m/c"), Dev: 1, Ino: 5, OldHash: "sha256:01", Hash: "sha256:03", Size: 7},
			{Kind: changeset.Written, Path: []byte("/m/w"), Dev: 1, Ino: 7, Hash: "sha256:aa"},
		}}
	var text strings.Builder
	if err := writeChanges(&text, r, false); err != nil {
		t.Fatal(err)
	}
	wantText := `# incomplete: 1 gap(s) in the period, the first at 2023-11-14T22:13:20Z on filesystem 66307 (loss): changes may be missing
added /m/a (sha256:aa)
added /m/e
removed "/m/b c"
renamed /m/o → "/m/n\xff"
content /m/c sha256:01 → sha256:02
content /m/d (none) → (too_large)
mode /m/c 0644 → 0600
owner /m/c 0:0 → 1000:1000
drift /m/c hash sha256:01 → sha256:03 size 7
written /m/w sha256:aa
`
	if text.String() != wantText {
		t.Errorf("text:\n%s\nwant:\n%s", text.String(), wantText)
	}
	var js strings.Builder
	if err := writeChanges(&js, r, true); err != nil {
		t.Fatal(err)
	}
	wantJSON := `{"change":"gap","time":"2023-11-14T22:13:20Z","inode":{"dev":66307,"ino":0},"reason":"loss","lost":4}
{"change":"added","path":"/m/a","hash":"sha256:aa","hash_state":"","mode":"0100644","uid":1000,"gid":1000,"inode":{"dev":1,"ino":2},"incomplete":true}
{"change":"added","path":"/m/e","hash":"","hash_state":"","mode":"0100600","uid":0,"gid":0,"inode":{"dev":1,"ino":9},"incomplete":true}
{"change":"removed","path":"/m/b c","inode":{"dev":1,"ino":3},"incomplete":true}
{"change":"renamed","path":"/m/n\ufffd","path_b64":"L20vbv8=","old_path":"/m/o","inode":{"dev":1,"ino":4},"incomplete":true}
{"change":"content","path":"/m/c","hash":"sha256:02","old_hash":"sha256:01","hash_state":"","inode":{"dev":1,"ino":5},"incomplete":true}
{"change":"content","path":"/m/d","hash":"","old_hash":"","hash_state":"too_large","inode":{"dev":1,"ino":6},"incomplete":true}
{"change":"mode","path":"/m/c","mode":"0100600","old_mode":"0100644","inode":{"dev":1,"ino":5},"incomplete":true}
{"change":"owner","path":"/m/c","uid":1000,"gid":1000,"old_uid":0,"old_gid":0,"inode":{"dev":1,"ino":5},"incomplete":true}
{"change":"drift","path":"/m/c","hash":"sha256:03","old_hash":"sha256:01","mode":"0","old_mode":"0","uid":0,"gid":0,"old_uid":0,"old_gid":0,"size":7,"inode":{"dev":1,"ino":5},"incomplete":true}
{"change":"written","path":"/m/w","hash":"sha256:aa","inode":{"dev":1,"ino":7},"incomplete":true}
`
	wantJSON = strings.ReplaceAll(wantJSON, `\ufffd`, "\ufffd") // U+FFFD itself, as encoding/json writes it
	if js.String() != wantJSON {
		t.Errorf("JSON:\n%s\nwant:\n%s", js.String(), wantJSON)
	}
}

// TestDiffScenario: diff of the shell scenario's periods, from the baseline and between two moments,
// replayed from FACT_RAW; --path keeps a rename whose old path is under it.
func TestDiffScenario(t *testing.T) {
	env := newForensicEnv(t)
	at, _ := shellScenario(t, env, "node-1")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	diff := func(args ...string) string {
		t.Helper()
		var out strings.Builder
		errOut, err := runCmd(ctx, &out, append([]string{"diff", "--nats", env.url, "--log-level", "error", "--host", "node-1",
			"--json=false"}, args...)...)
		if err != nil {
			t.Fatalf("diff %q: %v\n%s", args, err, errOut)
		}
		return out.String()
	}
	rfc := func(t time.Time) string { return t.Format(time.RFC3339Nano) }
	for _, c := range []struct {
		args []string
		want string
	}{
		// touch x; mkdir d; mv x d/y; ln d/y z; mv d e; rm z.
		{nil, "added /srv/mon/e\nadded /srv/mon/e/y\n"},
		{[]string{"--from", rfc(at[1]), "--to", rfc(at[2])}, "added /srv/mon/d\nrenamed /srv/mon/x → /srv/mon/d/y\nadded /srv/mon/z\n"},
		{[]string{"--from", rfc(at[1]), "--path", "/srv/mon/x"}, "renamed /srv/mon/x → /srv/mon/e/y\n"},
		{[]string{"--from", rfc(at[3]), "--to", rfc(at[4])}, "removed /srv/mon/z\n"},
		{[]string{"--from", rfc(at[0]), "--to", rfc(at[0])}, ""},
	} {
		if got := diff(c.args...); got != c.want {
			t.Errorf("diff %q:\n%s\nwant:\n%s", c.args, got, c.want)
		}
	}
	var out strings.Builder
	if _, err := runCmd(ctx, &out, "diff", "--nats", env.url, "--log-level", "error", "--host", "node-2"); err == nil ||
		!strings.Contains(err.Error(), "--from baseline: FACT_RAW holds no finished scan of node-2") {
		t.Errorf("diff of a host without a scan: %v", err)
	}
}
