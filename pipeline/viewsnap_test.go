package pipeline

import (
	"bytes"
	"encoding/hex"
	"github.com/factstream/factstream/pipeline/internal/eventtest"
	"strings"
	"testing"
)

// heldView returns the view of a host with something in every part of a partition snapshot: two boots,
// one with a hole in its batch sequence, processes, an index, and held items of each kind (batches
// waiting for their process events, then a dead letter and a gap behind them).
func heldView() *hostView {
	s := newSensorSim("node-1", 1)
	session(s, eventtest.ScanEntry(1, aTxt, srvMon, "a.txt", eventtest.FileMode))
	command(s, 2001, "/usr/bin/touch", []string{"touch", "x"}, eventtest.Create(30, srvMon, "x"))
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

// goldenPartition is the snapshot of heldView, pinned so that a change of the encoding (which a worker
// taking over a partition from an older one would fail to read) is a decision, not an accident.
const goldenPartition = `
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
// the bytes of goldenPartition.
func TestPartitionSnapshotGolden(t *testing.T) {
	golden, err := hex.DecodeString(strings.Join(strings.Fields(goldenPartition), ""))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	ptrTB(t, writePartitionSnapshot(&buf, 0, 1, []*hostView{heldView()}))
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
