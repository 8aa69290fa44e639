package snapcodec

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// sample writes one value of each kind after a header.
func sample(t testing.TB) []byte {
	var buf bytes.Buffer
	e := NewWriter(&buf)
	e.Header("test", 3)
	e.Uint(1 << 40)
	e.Int(-5)
	e.Bool(true)
	e.Str("name")
	e.Bytes(nil)
	e.Bytes([]byte{})
	e.Bytes([]byte("blob"))
	e.Count(2)
	if err := e.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestBytes pins the encoding of each kind of value: msgpack's most compact, names as str, bytes as
// bin, nil as nil.
func TestBytes(t *testing.T) {
	want := "\xa4test\x03\xcf\x00\x00\x01\x00\x00\x00\x00\x00\xfb\xc3\xa4name\xc0\xc4\x00\xc4\x04blob\x02"
	if got := sample(t); string(got) != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestRoundTrip(t *testing.T) {
	d := NewReader(bytes.NewReader(sample(t)))
	d.Header("test", 3)
	if v := d.Uint(); v != 1<<40 {
		t.Fatalf("uint %d", v)
	}
	if v := d.Int(); v != -5 {
		t.Fatalf("int %d", v)
	}
	if !d.Bool() {
		t.Fatal("bool false")
	}
	if s := d.Str(4); s != "name" {
		t.Fatalf("str %q", s)
	}
	if b := d.Blob(0); b != nil {
		t.Fatalf("nil read as %q", b)
	}
	if b := d.Blob(0); b == nil || len(b) != 0 {
		t.Fatalf("empty read as %#v", b)
	}
	if b := d.Bytes(4); string(b) != "blob" {
		t.Fatalf("bytes %q", b)
	}
	if n := d.Uint(); n != 2 {
		t.Fatalf("count %d", n)
	}
	if err := d.End(); err != nil {
		t.Fatal(err)
	}
}

// TestBytesReuse: Bytes reads into a buffer of the decoder, Blob into memory of its own.
func TestBytesReuse(t *testing.T) {
	var buf bytes.Buffer
	e := NewWriter(&buf)
	for _, s := range []string{"aaaa", "bbbb", "cccc", "dddd"} {
		e.Str(s)
	}
	if err := e.Flush(); err != nil {
		t.Fatal(err)
	}
	d := NewReader(&buf)
	first, second := d.Bytes(4), d.Bytes(4)
	if string(first) != "bbbb" || string(second) != "bbbb" {
		t.Fatalf("Bytes: %q then %q, want the buffer reused", first, second)
	}
	third, fourth := d.Blob(4), d.Blob(4)
	if string(third) != "cccc" || string(fourth) != "dddd" {
		t.Fatalf("Blob: %q then %q", third, fourth)
	}
}

// TestErrors: every way a read fails wraps ErrBadSnapshot and says why, and reading stops at the first.
func TestErrors(t *testing.T) {
	tests := []struct {
		name string
		read func(d *Decoder)
		want string
	}{
		{"magic", func(d *Decoder) { d.Header("other", 3) }, `not a "other" snapshot`},
		{"version", func(d *Decoder) { d.Header("test", 4) }, "version 3, want 4"},
		{"version range", func(d *Decoder) { d.HeaderIn("test", 4, 6) }, "version 3, want 4 to 6"},
		{"bound", func(d *Decoder) { d.Header("test", 3); d.Uint(); d.Int(); d.Bool(); d.Str(3) }, "4 bytes, over the bound of 3"},
		{"kind", func(d *Decoder) { d.Bool() }, "msgpack"},
		{"truncated", func(d *Decoder) {
			d.Header("test", 3)
			d.Uint()
			d.Int()
			d.Bool()
			d.Str(4)
			d.Str(0)
			d.Str(0)
			d.Blob(4)
			d.Uint()
			d.Uint()
		}, "EOF"},
		{"trailing", func(d *Decoder) { d.Header("test", 3) }, "trailing data"},
		{"layout", func(d *Decoder) { d.Failf("node %d", 7); d.Failf("second") }, "node 7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewReader(bytes.NewReader(sample(t)))
			tt.read(d)
			if d.Err() != nil && (d.Uint() != 0 || d.Bytes(8) != nil) {
				t.Fatal("a read after an error returns a value")
			}
			err := d.End()
			if !errors.Is(err, ErrBadSnapshot) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want ErrBadSnapshot and %q", err, tt.want)
			}
		})
	}
}

// failing encodes itself with an error.
type failing struct{}

func (failing) EncodeMsgpack(*msgpack.Encoder) error { return io.ErrShortWrite }
func (failing) DecodeMsgpack(*msgpack.Decoder) error { return io.ErrUnexpectedEOF }

// TestEmbed: a value that encodes itself writes into the same stream, and its error is the encoder's.
func TestEmbed(t *testing.T) {
	var buf bytes.Buffer
	e := NewWriter(&buf)
	e.Uint(1)
	e.Embed(failing{})
	e.Uint(2)
	if err := e.Flush(); !errors.Is(err, io.ErrShortWrite) {
		t.Fatalf("got %v", err)
	}
	if buf.Len() != 0 {
		t.Fatal("a failed snapshot was written out")
	}
	d := NewReader(bytes.NewReader([]byte{1}))
	d.Embed(failing{})
	if err := d.End(); !errors.Is(err, ErrBadSnapshot) || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("got %v", err)
	}
}

// TestHeaderIn: a reader of several versions gets the one it read, and nothing once it failed.
func TestHeaderIn(t *testing.T) {
	for _, tt := range []struct {
		oldest, newest, want uint64
	}{{1, 3, 3}, {3, 5, 3}, {3, 3, 3}, {4, 5, 0}, {1, 2, 0}} {
		d := NewReader(bytes.NewReader(sample(t)))
		if got := d.HeaderIn("test", tt.oldest, tt.newest); got != tt.want || (got == 0) != (d.Err() != nil) {
			t.Errorf("HeaderIn(%d, %d) = %d (%v), want %d", tt.oldest, tt.newest, got, d.Err(), tt.want)
		}
	}
	d := NewReader(bytes.NewReader(sample(t)))
	if got := d.HeaderIn("other", 1, 3); got != 0 || d.Err() == nil {
		t.Errorf("another magic: version %d, error %v", got, d.Err())
	}
}

// versioned records the version it was asked to decode.
type versioned struct{ got uint64 }

func (v *versioned) DecodeVersion(dec *msgpack.Decoder, version uint64) error {
	v.got = version
	_, err := dec.DecodeUint64()
	return err
}

// TestEmbedVersion: an embedded value is told the version, and not called once the decoder failed.
func TestEmbedVersion(t *testing.T) {
	d := NewReader(bytes.NewReader([]byte{7}))
	var v versioned
	d.EmbedVersion(&v, 2)
	if err := d.End(); err != nil || v.got != 2 {
		t.Fatalf("got version %d, %v", v.got, err)
	}
	d = NewReader(bytes.NewReader(nil))
	d.Failf("earlier")
	v.got = 0
	d.EmbedVersion(&v, 2)
	if v.got != 0 {
		t.Fatal("decoded after a failure")
	}
}

// FuzzDecoder reads untrusted bytes as the values ops name: no read panics or returns more than its
// bound, and a failed read is an ErrBadSnapshot.
func FuzzDecoder(f *testing.F) {
	// The header, then uint, int, bool, str of up to 4, nil and empty bytes, a blob of up to 4, a count.
	f.Add([]byte{6, 0, 1, 2, 3 | 4<<3, 5, 5, 4 | 4<<3, 0}, sample(f))
	f.Add([]byte{5, 5, 5}, []byte("\xc6\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, ops, data []byte) {
		d := NewReader(bytes.NewReader(data))
		for _, op := range ops {
			limit := int(op >> 3)
			switch op & 7 {
			case 0:
				d.Uint()
			case 1:
				d.Int()
			case 2:
				d.Bool()
			case 3:
				if s := d.Str(limit); len(s) > limit {
					t.Fatalf("a str of %d bytes over the bound of %d", len(s), limit)
				}
			case 4:
				if b := d.Blob(limit); len(b) > limit {
					t.Fatalf("a blob of %d bytes over the bound of %d", len(b), limit)
				}
			case 5:
				if b := d.Bytes(limit); len(b) > limit {
					t.Fatalf("bytes of %d over the bound of %d", len(b), limit)
				}
			default:
				d.Header("test", 3)
			}
		}
		if err := d.End(); err != nil && !errors.Is(err, ErrBadSnapshot) {
			t.Fatalf("%v does not wrap ErrBadSnapshot", err)
		}
	})
}
