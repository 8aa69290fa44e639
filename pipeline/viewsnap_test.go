package pipeline

import (
	"bytes"
	"testing"

	"github.com/factstream/factstream/pipeline/internal/eventtest"
	"github.com/factstream/factstream/schemas"
)

// heldView returns the view of a host with something in every part of a partition snapshot: two boots,
// one with a hole in its batch sequence, processes, an index (knowing contents when writes are content
// events of a command that ran before), and held items of each kind (batches waiting for their process
// events, then a dead letter and a gap behind them).
func heldView(writes ...schemas.RawEvent) *hostView {
	s := newSensorSim("node-1", 1)
	session(s, eventtest.ScanEntry(1, aTxt, srvMon, "a.txt", eventtest.FileMode))
	command(s, 2001, "/usr/bin/touch", []string{"touch", "x"}, eventtest.Create(30, srvMon, "x"))
	if len(writes) > 0 {
		command(s, 2002, "/usr/bin/tee", []string{"tee", "a.txt", "x"}, writes...)
	}
	s.emitAll(by(eventtest.Open(aTxt, srvMon, "a.txt"), shellPid, shellSt, "bash")) // held: no process event after it
	s.batch++                                                                       // a hole in the batch sequence
	s.emitAll(by(eventtest.Open(aTxt, srvMon, "a.txt"), shellPid, shellSt, "bash"))
	s.boot, s.batch = "boot-2", 0
	s.emitAll(by(eventtest.Open(aTxt, srvMon, "a.txt"), shellPid, shellSt, "bash"))
	v := newHostView(viewCfg(), "node-1", &collector{}, &viewStats{})
	for _, m := range s.msgs {
		v.receive(m)
	}
	bad := rawMsg{subject: rawSubject("node-1", testDev, 1), seq: s.stream + 1, ts: s.ts, data: []byte("not msgpack")}
	v.deadLetter(bad, "a reason", true)
	v.enqueue(item{seq: bad.seq, ts: bad.ts, gap: &gapNote{dev: testDev, reason: "a gap", lost: 3}})
	return v
}

// hashedView is heldView after tee wrote a.txt and x, both hashed, and a.txt once more, too large.
func hashedView() *hostView {
	return heldView(eventtest.Content(aTxt, srvMon, "a.txt", schemas.HashOK, eventtest.Digest(1), 10),
		eventtest.Content(30, srvMon, "x", schemas.HashOK, eventtest.Digest(2), 20),
		eventtest.Content(aTxt, srvMon, "a.txt", schemas.HashTooLarge, nil, 1<<40))
}

// goldenPartition is the snapshot of hashedView, pinned so that a change of the encoding (which a worker
// taking over a partition from an older one would fail to read) is a decision, not an accident.
const goldenPartition = `
a666737061727402000101a66e6f64652d310b03cf187afca76871d8c002a6626f6f742d310acf187afca7686296800a010b
a6626f6f742d320200000001a6626f6f742d311204cd0384cd2328010100020201c40473736864c0c0c002c40473736864c4
0e2f7573722f7362696e2f73736864c40873736864002d4400c4192f73797374656d2e736c6963652f7373682e7365727669
6365cd03e8cd2710cd0384cd232800040203c40473736864c40e2f7573722f7362696e2f73736864c40873736864002d4400
c4192f73797374656d2e736c6963652f7373682e7365727669636504c40462617368c40d2f7573722f62696e2f62617368c4
062d6261736800c41b2f757365722e736c6963652f73657373696f6e2d312e73636f7065cd07d1cd4e2acd03e8cd27100c0c
0209c40462617368c40d2f7573722f62696e2f62617368c4062d6261736800c41b2f757365722e736c6963652f7365737369
6f6e2d312e73636f70650ac405746f756368c40e2f7573722f62696e2f746f756368c408746f756368007800c41b2f757365
722e736c6963652f73657373696f6e2d312e73636f7065cd07d2cd4e34cd03e8cd27101212020dc40462617368c40d2f7573
722f62696e2f62617368c4062d6261736800c41b2f757365722e736c6963652f73657373696f6e2d312e73636f70650ec403
746565c40c2f7573722f62696e2f746565c40c74656500612e747874007800c41b2f757365722e736c6963652f7365737369
6f6e2d312e73636f706501ce0001030311c2c201030ac3c4082f7372762f6d6f6e14c2c01ec2c002140ac405612e7478741e
0ac4017800021401c42001010101010101010101010101010101010101010101010101010101010101010ac31e01c4200202
02020202020202020202020202020202020202020202020202020202020214c2050009cf187afca768535440a6626f6f742d
311313c44c9601a66e6f64652d31a6626f6f742d3109ce0001030391dc00130213cf187afca768441213010200c0140ac405
612e747874c0cd03e8cd03e8cd03e8cd03e8cd03e8c40462617368cd271000000acf187afca768629680a6626f6f742d3114
14c44c9601a66e6f64652d31a6626f6f742d310bce0001030391dc00130214cf187afca768535454010200c0140ac405612e
747874c0cd03e8cd03e8cd03e8cd03e8cd03e8c40462617368cd271000000bcf187afca76871d8c0a6626f6f742d321515c4
4c9601a66e6f64652d31a6626f6f742d3201ce0001030391dc00130215cf187afca768629695010200c0140ac405612e7478
74c0cd03e8cd03e8cd03e8cd03e8cd03e8c40462617368cd271000020ccf187afca76871d8c0a00000b7666163742e726177
2e302e6e6f64652d312e3636333037a86120726561736f6ec40b6e6f74206d73677061636b010ccf187afca76871d8c0a000
00ce00010303a5612067617003`

// goldenPartitionV1 is the snapshot of heldView in version 1, before indexes knew contents, which a
// worker taking over from an older one still reads.
const goldenPartitionV1 = `
a666737061727401000101a66e6f64652d310802cf187afca76844120002a6626f6f742d3107cf187afca76834cfc0070108
a6626f6f742d320200000001a6626f6f742d310c03cd0384cd2328010100020201c40473736864c0c0c002c40473736864c4
0e2f7573722f7362696e2f73736864c40873736864002d4400c4192f73797374656d2e736c6963652f7373682e7365727669
6365cd03e8cd2710cd0384cd232800040203c40473736864c40e2f7573722f7362696e2f73736864c40873736864002d4400
c4192f73797374656d2e736c6963652f7373682e7365727669636504c40462617368c40d2f7573722f62696e2f62617368c4
062d6261736800c41b2f757365722e736c6963652f73657373696f6e2d312e73636f7065cd07d1cd4e2acd03e8cd27100c0c
0209c40462617368c40d2f7573722f62696e2f62617368c4062d6261736800c41b2f757365722e736c6963652f7365737369
6f6e2d312e73636f70650ac405746f756368c40e2f7573722f62696e2f746f756368c408746f756368007800c41b2f757365
722e736c6963652f73657373696f6e2d312e73636f706501ce000103030bc2c201030ac3c4082f7372762f6d6f6e14c2c01e
c2c002140ac405612e7478741e0ac4017800050006cf187afca768258d80a6626f6f742d310d0dc44c9601a66e6f64652d31
a6626f6f742d3106ce0001030391dc0013020dcf187afca768164b4d010200c0140ac405612e747874c0cd03e8cd03e8cd03
e8cd03e8cd03e8c40462617368cd2710000007cf187afca76834cfc0a6626f6f742d310e0ec44c9601a66e6f64652d31a662
6f6f742d3108ce0001030391dc0013020ecf187afca768258d8e010200c0140ac405612e747874c0cd03e8cd03e8cd03e8cd
03e8cd03e8c40462617368cd2710000008cf187afca768441200a6626f6f742d320f0fc44c9601a66e6f64652d31a6626f6f
742d3201ce0001030391dc0013020fcf187afca76834cfcf010200c0140ac405612e747874c0cd03e8cd03e8cd03e8cd03e8
cd03e8c40462617368cd2710000209cf187afca768441200a00000b7666163742e7261772e302e6e6f64652d312e36363330
37a86120726561736f6ec40b6e6f74206d73677061636b0109cf187afca768441200a00000ce00010303a5612067617003`

// TestPartitionSnapshotGolden: a partition snapshot is written, and read back to the same state, in
// the bytes of goldenPartition; the index's contents are in it.
func TestPartitionSnapshotGolden(t *testing.T) {
	golden := eventtest.Unhex(t, goldenPartition)
	var buf bytes.Buffer
	ptrTB(t, writePartitionSnapshot(&buf, 0, 1, []*hostView{hashedView()}))
	if !bytes.Equal(buf.Bytes(), golden) {
		t.Fatalf("the snapshot is\n%x\nwant\n%x", buf.Bytes(), golden)
	}
	views, err := readPartitionSnapshot(bytes.NewReader(golden), viewCfg(), &collector{}, &viewStats{})
	if err != nil {
		t.Fatal(err)
	}
	var again bytes.Buffer
	ptrTB(t, writePartitionSnapshot(&again, 0, 1, views))
	if !bytes.Equal(again.Bytes(), golden) {
		t.Fatalf("the golden snapshot reads back as\n%x", again.Bytes())
	}
}

// TestPartitionSnapshotPreviousVersion: a version 1 partition snapshot, pinned before indexes knew
// contents, still reads, to the state that wrote it: written again, it is the snapshot of the same view
// in the current version.
func TestPartitionSnapshotPreviousVersion(t *testing.T) {
	views, err := readPartitionSnapshot(bytes.NewReader(eventtest.Unhex(t, goldenPartitionV1)), viewCfg(), &collector{}, &viewStats{})
	if err != nil {
		t.Fatal(err)
	}
	var got, want bytes.Buffer
	ptrTB(t, writePartitionSnapshot(&got, 0, 1, views))
	ptrTB(t, writePartitionSnapshot(&want, 0, 1, []*hostView{heldView()}))
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Fatalf("the version 1 snapshot reads back as\n%x\nwant\n%x", got.Bytes(), want.Bytes())
	}
}

// TestPartitionSnapshotContent: a view restored from a snapshot gives the next content event of a file
// the hash it knew.
func TestPartitionSnapshotContent(t *testing.T) {
	var buf bytes.Buffer
	ptrTB(t, writePartitionSnapshot(&buf, 0, 1, []*hostView{hashedView()}))
	var c collector
	views, err := readPartitionSnapshot(bytes.NewReader(buf.Bytes()), viewCfg(), &c, &viewStats{})
	if err != nil {
		t.Fatal(err)
	}
	if got := views[0].idx.Index(Key{Host: "node-1", Dev: testDev}).Content(aTxt).Hash(); got != eventtest.Hash(1) {
		t.Fatalf("restored content of a.txt %q, want %q", got, eventtest.Hash(1))
	}
}
