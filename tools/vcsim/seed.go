package main

import (
	"context"
	"fmt"
	"net/url"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/units"
	"github.com/vmware/govmomi/vim25/types"
)

// Datastore free space set by the seed, so "most free space" in the
// datastore cluster has one right answer (LocalDS_2).
var podFree = map[string]int64{"LocalDS_1": 300 * int64(units.GB), "LocalDS_2": 700 * int64(units.GB)}

// seedInventory adds what the seed example names: cluster Compute-Cluster
// (renamed DC0_C0), resource pool Production, folder /vm/web, datastore
// cluster DatastoreCluster-SSD, portgroups PG-App-VLAN100 and lab-net, and
// templates tmpl-ubuntu-22.04-cloudimg and ubuntu-22.04 (the conformance
// suite's image).
func seedInventory(ctx context.Context, model *simulator.Model, u *url.URL) error {
	c, err := govmomi.NewClient(ctx, u, true)
	if err != nil {
		return err
	}
	defer func() { _ = c.Logout(ctx) }()
	finder := find.NewFinder(c.Client, true)
	dc, err := finder.Datacenter(ctx, "DC0")
	if err != nil {
		return err
	}
	finder.SetDatacenter(dc)
	folders, err := dc.Folders(ctx)
	if err != nil {
		return err
	}

	cluster, err := finder.ClusterComputeResource(ctx, "DC0_C0")
	if err != nil {
		return err
	}
	if err := wait(ctx)(cluster.Rename(ctx, "Compute-Cluster")); err != nil {
		return err
	}
	pool, err := cluster.ResourcePool(ctx)
	if err != nil {
		return err
	}
	if _, err := pool.Create(ctx, "Production", types.DefaultResourceConfigSpec()); err != nil {
		return err
	}
	if _, err := folders.VmFolder.CreateFolder(ctx, "web"); err != nil {
		return err
	}

	pod, err := folders.DatastoreFolder.CreateStoragePod(ctx, "DatastoreCluster-SSD")
	if err != nil {
		return err
	}
	var members []types.ManagedObjectReference
	for name, free := range podFree {
		ds, err := finder.Datastore(ctx, name)
		if err != nil {
			return err
		}
		members = append(members, ds.Reference())
		sim := model.Map().Get(ds.Reference()).(*simulator.Datastore)
		sim.Summary.FreeSpace = free
		sim.Info.GetDatastoreInfo().FreeSpace = free
	}
	if err := wait(ctx)(pod.MoveInto(ctx, members)); err != nil {
		return err
	}

	dvs, err := finder.Network(ctx, "DVS0")
	if err != nil {
		return err
	}
	spec := func(name string, vlan int32) types.DVPortgroupConfigSpec {
		return types.DVPortgroupConfigSpec{
			Name: name, Type: string(types.DistributedVirtualPortgroupPortgroupTypeEarlyBinding), NumPorts: 16,
			DefaultPortConfig: &types.VMwareDVSPortSetting{Vlan: &types.VmwareDistributedVirtualSwitchVlanIdSpec{VlanId: vlan}},
		}
	}
	sw := object.NewDistributedVirtualSwitch(c.Client, dvs.Reference())
	if err := wait(ctx)(sw.AddPortgroup(ctx, []types.DVPortgroupConfigSpec{spec("PG-App-VLAN100", 100), spec("lab-net", 0)})); err != nil {
		return err
	}

	source, err := finder.VirtualMachine(ctx, "DC0_C0_RP0_VM0")
	if err != nil {
		return err
	}
	for _, name := range []string{"tmpl-ubuntu-22.04-cloudimg", "ubuntu-22.04"} {
		if err := wait(ctx)(source.Clone(ctx, folders.VmFolder, name, types.VirtualMachineCloneSpec{})); err != nil {
			return fmt.Errorf("clone %s: %w", name, err)
		}
		tmpl, err := finder.VirtualMachine(ctx, name)
		if err != nil {
			return err
		}
		if err := tmpl.MarkAsTemplate(ctx); err != nil {
			return fmt.Errorf("mark %s as template: %w", name, err)
		}
	}
	return nil
}

// wait returns a function that waits for a task (or passes on its error).
func wait(ctx context.Context) func(*object.Task, error) error {
	return func(t *object.Task, err error) error {
		if err != nil {
			return err
		}
		return t.Wait(ctx)
	}
}
