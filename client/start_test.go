package client_test

import (
	"errors"
	"testing"
	"time"

	"github.com/factstream/factstream/client"
)

func TestParseStart(t *testing.T) {
	now := time.Date(2026, 11, 25, 13, 0, 0, 0, time.UTC)
	tests := []struct {
		in      string
		want    string // Start.String
		wantErr bool
	}{
		{in: "", want: "new"},
		{in: "new", want: "new"},
		{in: "all", want: "all"},
		{in: "seq:42", want: "seq:42"},
		{in: "90m", want: "2026-11-25T11:30:00Z"},
		{in: "0s", want: "2026-11-25T13:00:00Z"},
		{in: "2026-11-24T08:00:00+01:00", want: "2026-11-24T07:00:00Z"},
		{in: "2026-11-24T07:00:00.5Z", want: "2026-11-24T07:00:00.5Z"},
		{in: "0000-01-01T00:00:00+01:00", want: "0000-01-01T00:00:00+01:00"},
		{in: "9999-12-31T23:59:59-01:00", want: "9999-12-31T23:59:59-01:00"},
		{in: "yesterday", wantErr: true},
		{in: "-5m", wantErr: true},
		{in: "seq:", wantErr: true},
		{in: "seq:0", wantErr: true},
		{in: "seq:-1", wantErr: true},
		{in: "seq:99999999999999999999", wantErr: true},
	}
	for _, tt := range tests {
		s, err := client.ParseStart(tt.in, now)
		if tt.wantErr {
			ve, ok := errors.AsType[*client.ValueError](err)
			if !errors.Is(err, client.ErrInvalidStart) || !ok || ve.Field != "start" || ve.Value != tt.in {
				t.Errorf("ParseStart(%q): error %v, want a ValueError of ErrInvalidStart", tt.in, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseStart(%q): %v", tt.in, err)
		} else if s.String() != tt.want {
			t.Errorf("ParseStart(%q) = %s, want %s", tt.in, s, tt.want)
		}
	}
}

func TestStartConstructors(t *testing.T) {
	tests := []struct {
		s    client.Start
		want string
	}{
		{client.Start{}, "new"},
		{client.StartNew(), "new"},
		{client.StartAll(), "all"},
		{client.StartSeq(0), "seq:1"},
		{client.StartSeq(7), "seq:7"},
		{client.ResumeAfter(0), "seq:1"},
		{client.ResumeAfter(7), "seq:8"},
		{client.StartTime(time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("x", 3600))), "2026-01-02T02:04:05.000000006Z"},
	}
	for _, tt := range tests {
		if got := tt.s.String(); got != tt.want {
			t.Errorf("String() = %s, want %s", got, tt.want)
		}
	}
}

// FuzzParseStart checks that ParseStart never panics and that what it accepts survives String.
func FuzzParseStart(f *testing.F) {
	for _, s := range []string{"", "all", "new", "seq:1", "10m", "2026-11-25T13:00:00Z", "seq:x", "-1h", "0000-01-01T00:00:00+01:00"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 25, 13, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, in string) {
		s, err := client.ParseStart(in, now)
		if err != nil {
			return
		}
		again, err := client.ParseStart(s.String(), now)
		if err != nil {
			t.Fatalf("ParseStart(%q) = %s, which does not parse: %v", in, s, err)
		}
		if again.String() != s.String() {
			t.Fatalf("ParseStart(%q) = %s, then %s", in, s, again)
		}
	})
}
