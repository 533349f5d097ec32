// Builds vcsim (govmomi's vCenter simulator) for the vSphere provider
// tests; see main.go and scripts/vcsim-bin.sh. The govmomi version pinned
// here selects the cache directory.
module virtrigaud/tools/vcsim

go 1.26.0

require github.com/vmware/govmomi v0.56.0

require (
	github.com/google/uuid v1.6.0 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)
