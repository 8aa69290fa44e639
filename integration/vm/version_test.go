package vm

import (
	"regexp"
	"testing"
)

func TestNewest(t *testing.T) {
	cases := []struct {
		names []string
		want  string
	}{
		{[]string{"linux-image-6.1.0-9-cloud-amd64-unsigned", "linux-image-6.1.0-56-cloud-amd64-unsigned",
			"linux-image-6.1.0-47-cloud-amd64-unsigned"}, "linux-image-6.1.0-56-cloud-amd64-unsigned"},
		{[]string{"linux-image-6.12.117+deb12-cloud-amd64-unsigned", "linux-image-6.12.99+deb12-cloud-amd64-unsigned"},
			"linux-image-6.12.117+deb12-cloud-amd64-unsigned"},
		{[]string{"a"}, "a"},
	}
	for _, c := range cases {
		if got := newest(c.names); got != c.want {
			t.Errorf("newest(%q) = %q, want %q", c.names, got, c.want)
		}
	}
}

func TestCompareVersions(t *testing.T) {
	cases := []struct {
		a, b string
		sign int
	}{
		{"6.1.0-9", "6.1.0-10", -1},
		{"6.1.0-10", "6.1.0-10", 0},
		{"6.1.0-10a", "6.1.0-10", 1},
		{"6.12.1", "6.2.1", 1},
	}
	for _, c := range cases {
		got := compareVersions(c.a, c.b)
		if (got > 0) != (c.sign > 0) || (got < 0) != (c.sign < 0) {
			t.Errorf("compareVersions(%q, %q) = %d, want sign %d", c.a, c.b, got, c.sign)
		}
	}
}

// apt-cache search output as seen on bookworm, with the security archive.
const recordedSearch = `linux-image-6.1.0-47-cloud-amd64-unsigned - Linux 6.1 for x86-64 cloud
linux-image-6.1.0-56-cloud-amd64-unsigned - Linux 6.1 for x86-64 cloud
linux-image-6.12.117+deb12-cloud-amd64-unsigned - Linux 6.12 for x86-64 cloud
linux-image-6.1.0-56-cloud-amd64-dbg - Debug symbols for linux-image-6.1.0-56-cloud-amd64
`

func TestMatchPackages(t *testing.T) {
	cases := map[string][]string{
		"6.1":  {"linux-image-6.1.0-47-cloud-amd64-unsigned", "linux-image-6.1.0-56-cloud-amd64-unsigned"},
		"6.12": {"linux-image-6.12.117+deb12-cloud-amd64-unsigned"},
		"5.10": nil,
	}
	for series, want := range cases {
		got := matchPackages(recordedSearch, regexp.MustCompile(packagePattern(series)))
		if len(got) != len(want) {
			t.Errorf("%s: got %q, want %q", series, got, want)
			continue
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("%s: got %q, want %q", series, got, want)
			}
		}
	}
}
