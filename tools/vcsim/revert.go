package main

import (
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// revertHook makes RevertToSnapshot_Task restore the snapshot's CPU and
// memory, as vCenter does; the simulator (v0.56.0) only moves
// currentSnapshot. A revert is the one update that changes nothing but
// snapshot.currentSnapshot (create and remove also rewrite the tree).
type revertHook struct{}

func (revertHook) Reference() types.ManagedObjectReference {
	return types.ManagedObjectReference{Type: "VirtrigaudRevertHook", Value: "revert-hook"}
}

func (revertHook) PutObject(*simulator.Context, mo.Reference) {}

func (revertHook) RemoveObject(*simulator.Context, types.ManagedObjectReference) {}

func (revertHook) UpdateObject(ctx *simulator.Context, obj mo.Reference, changes []types.PropertyChange) {
	vm, ok := obj.(*mo.VirtualMachine)
	if !ok || len(changes) != 1 || changes[0].Name != "snapshot.currentSnapshot" || vm.Config == nil {
		return
	}
	ref, ok := changes[0].Val.(types.ManagedObjectReference)
	if !ok {
		return
	}
	snap, ok := ctx.Map.Get(ref).(*simulator.VirtualMachineSnapshot)
	if !ok || snap.Config.Hardware.NumCPU == 0 {
		return
	}
	hw := snap.Config.Hardware
	vm.Config.Hardware.NumCPU = hw.NumCPU
	vm.Config.Hardware.MemoryMB = hw.MemoryMB
	vm.Summary.Config.NumCpu = hw.NumCPU
	vm.Summary.Config.MemorySizeMB = hw.MemoryMB
}
