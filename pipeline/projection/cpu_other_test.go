//go:build !linux

package projection

import "testing"

type cpuMeter struct{}

func startCPU(*testing.B) *cpuMeter { return &cpuMeter{} }

func (*cpuMeter) report(*testing.B, int, string) {}
