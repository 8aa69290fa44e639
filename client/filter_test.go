package client_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/factstream/factstream/client"
	"github.com/factstream/factstream/schemas"
)

func TestFilterValidate(t *testing.T) {
	tests := []struct {
		name    string
		f       client.Filter
		wantErr []string // each a ValueError's text, in order
	}{
		{name: "empty"},
		{name: "good", f: client.Filter{Hosts: []string{"web-1"}, Types: []string{"gap", "rename"}, Paths: []string{"/etc/{a,b}/**"}}},
		{name: "host with a dot", f: client.Filter{Hosts: []string{"web.example"}}, wantErr: []string{`host "web.example": not a host name`}},
		{name: "wildcard hosts", f: client.Filter{Hosts: []string{"*", ">", "a b", ""}},
			wantErr: []string{`host "*"`, `host ">"`, `host "a b"`, `host ""`}},
		{name: "unknown type", f: client.Filter{Types: []string{"write"}}, wantErr: []string{`type "write": want one of creation, open,`}},
		{name: "relative glob", f: client.Filter{Paths: []string{"etc/**"}}, wantErr: []string{`path "etc/**": not an absolute glob`}},
		{name: "broken glob", f: client.Filter{Paths: []string{"/etc/[a"}}, wantErr: []string{`path "/etc/[a"`}},
		{name: "all bad", f: client.Filter{Hosts: []string{"a.b"}, Types: []string{"nope"}, Paths: []string{"x"}},
			wantErr: []string{`host "a.b"`, `type "nope"`, `path "x"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.f.Validate()
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, client.ErrInvalidFilter) {
				t.Fatalf("error %v does not wrap ErrInvalidFilter", err)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tt.wantErr) {
				t.Fatalf("error %q, want %d parts", err, len(tt.wantErr))
			}
			for i, want := range tt.wantErr {
				if !strings.HasPrefix(lines[i], want) {
					t.Errorf("error part %q, want it to start with %q", lines[i], want)
				}
			}
		})
	}
}

func TestFilterSubjects(t *testing.T) {
	tests := []struct {
		f    client.Filter
		want []string
	}{
		{client.Filter{}, []string{"fact.activity.*.*"}},
		{client.Filter{Paths: []string{"/etc/**"}}, []string{"fact.activity.*.*"}},
		{client.Filter{Hosts: []string{"b", "a"}}, []string{"fact.activity.a.*", "fact.activity.b.*"}},
		{client.Filter{Types: []string{"unlink", "creation", "unlink"}}, []string{"fact.activity.*.creation", "fact.activity.*.unlink"}},
		{client.Filter{Hosts: []string{"a"}, Types: []string{"open", "gap"}}, []string{"fact.activity.a.gap", "fact.activity.a.open"}},
	}
	for _, tt := range tests {
		if got := tt.f.Subjects(); !slices.Equal(got, tt.want) {
			t.Errorf("%+v: subjects %q, want %q", tt.f, got, tt.want)
		}
	}
}

func TestFilterMatch(t *testing.T) {
	globs := client.Filter{Paths: []string{"/srv/mon/**", "/etc/*.conf"}}
	hosts := client.Filter{Hosts: []string{"web-1"}, Types: []string{"rename", "gap"}}
	tests := []struct {
		name string
		f    client.Filter
		a    schemas.Activity
		want bool
	}{
		{"empty filter, empty event", client.Filter{}, schemas.Activity{}, true},
		{"path", globs, schemas.Activity{Path: []byte("/srv/mon/a")}, true},
		{"host path", globs, schemas.Activity{Path: []byte("/data/a"), HostPath: []byte("/srv/mon/a")}, true},
		{"old path", globs, schemas.Activity{Path: []byte("/tmp/x"), OldPath: []byte("/etc/x.conf")}, true},
		{"old host path", globs, schemas.Activity{Path: []byte("/tmp/x"), OldHostPath: []byte("/srv/mon/x")}, true},
		{"one level glob", globs, schemas.Activity{Path: []byte("/etc/a.conf")}, true},
		{"one level glob, deeper", globs, schemas.Activity{Path: []byte("/etc/ssh/a.conf")}, false},
		{"other path", globs, schemas.Activity{Path: []byte("/srv/other")}, false},
		{"no path", globs, schemas.Activity{}, false},
		{"invalid UTF-8", globs, schemas.Activity{Path: []byte("/srv/mon/\xff\n")}, true},
		{"host and type", hosts, schemas.Activity{Host: "web-1", Type: "rename"}, true},
		{"other host", hosts, schemas.Activity{Host: "web-2", Type: "rename"}, false},
		{"other type", hosts, schemas.Activity{Host: "web-1", Type: "unlink"}, false},
	}
	for _, tt := range tests {
		if got := tt.f.Match(&tt.a); got != tt.want {
			t.Errorf("%s: Match = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestTypes(t *testing.T) {
	ts := client.Types()
	if len(ts) != 18 || ts[0] != "creation" || ts[len(ts)-3] != "content" || ts[len(ts)-2] != schemas.TypeGap ||
		ts[len(ts)-1] != schemas.TypeDrift {
		t.Errorf("Types() = %q", ts)
	}
	if err := (client.Filter{Types: []string{"content"}}).Validate(); err != nil {
		t.Errorf("type content: %v", err)
	}
	if err := (client.Filter{Types: []string{schemas.TypeDrift}}).Validate(); err != nil {
		t.Errorf("type drift: %v", err)
	}
}
