package schemas

import (
	"errors"
	"reflect"
	"testing"
)

func TestKernelSeqs(t *testing.T) {
	for _, tc := range []struct {
		text string
		want KernelSeqs
	}{
		{"7:", KernelSeqs{Instance: 7}},
		{"7:5", KernelSeqs{7, []SeqRange{{5, 5}}}},
		{"12:1-4,9,11-20", KernelSeqs{12, []SeqRange{{1, 4}, {9, 9}, {11, 20}}}},
	} {
		got, err := ParseKernelSeqs(tc.text)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseKernelSeqs(%q) = %+v, %v; want %+v", tc.text, got, err, tc.want)
		}
		if s := tc.want.String(); s != tc.text {
			t.Errorf("String() = %q, want %q", s, tc.text)
		}
	}
	for _, bad := range []string{"", "7", "x:1", "7:1-", "7:4-2", "7:1,,2", "7:-1", "7:1-2-3"} {
		if _, err := ParseKernelSeqs(bad); !errors.Is(err, ErrBadKernelSeqs) {
			t.Errorf("ParseKernelSeqs(%q): %v, want ErrBadKernelSeqs", bad, err)
		}
	}
}

func TestSortRanges(t *testing.T) {
	got := SortRanges([]SeqRange{{9, 12}, {1, 3}, {4, 4}, {11, 15}, {20, 20}})
	want := []SeqRange{{1, 4}, {9, 15}, {20, 20}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("SortRanges = %v, want %v", got, want)
	}
	var r []SeqRange
	for _, s := range []uint64{3, 4, 5, 7, 8} {
		r = AppendSeq(r, s)
	}
	if want := []SeqRange{{3, 5}, {7, 8}}; !reflect.DeepEqual(r, want) {
		t.Fatalf("AppendSeq = %v, want %v", r, want)
	}
}

func FuzzParseKernelSeqs(f *testing.F) {
	for _, s := range []string{"7:", "12:1-4,9,11-20", "1:18446744073709551615", "x:y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseKernelSeqs(s)
		if err != nil {
			if !errors.Is(err, ErrBadKernelSeqs) {
				t.Fatalf("error %v does not wrap ErrBadKernelSeqs", err)
			}
			return
		}
		again, err := ParseKernelSeqs(k.String())
		if err != nil || !reflect.DeepEqual(again, k) {
			t.Fatalf("%q: round trip gave %+v, %v; want %+v", s, again, err, k)
		}
	})
}
