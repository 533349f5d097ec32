// vcsim for the vSphere provider tests: govmomi's simulator behind a tiny
// main (from govmomi v0.47 the vcsim command is its own module with a
// replace line, so `go install` cannot build it from the module proxy).
//
// It listens on -l, checks -username/-password on Login, serves TLS with
// -tlscert/-tlskey (so tests can verify the server against a known CA),
// and with -seed adds the inventory of examples/manifests/vsphere-web-server.yaml
// (see seed.go). It prints `VCSIM_URL=<url>` once ready and exits on
// SIGTERM/SIGINT or when stdin closes (a test runner that dies leaves no vcsim behind).
package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"log"
	"net/url"
	"os"
	"os/signal"
	"syscall"

	"github.com/vmware/govmomi/simulator"
	// vAPI REST (session, content library, VM-template library items) for the
	// content library deploy tests.
	_ "github.com/vmware/govmomi/vapi/simulator"
)

func main() {
	listen := flag.String("l", "127.0.0.1:0", "listen address")
	username := flag.String("username", "", "login user name (empty: any non-empty)")
	password := flag.String("password", "", "login password")
	tlsCert := flag.String("tlscert", "", "PEM certificate to serve (default: the simulator's own)")
	tlsKey := flag.String("tlskey", "", "PEM key of -tlscert")
	seed := flag.Bool("seed", true, "add the seed example's inventory")
	flag.Parse()

	model := simulator.VPX()
	model.Datastore = 3 // LocalDS_1 and LocalDS_2 become the datastore cluster
	if err := model.Create(); err != nil {
		log.Fatalf("vcsim: create model: %v", err)
	}
	defer model.Remove()
	model.Map().AddHandler(revertHook{})

	u := &url.URL{Host: *listen}
	if *username != "" {
		u.User = url.UserPassword(*username, *password)
	}
	model.Service.Listen = u
	model.Service.RegisterEndpoints = true // serve the vAPI REST handlers imported above
	model.Service.TLS = new(tls.Config)
	if *tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(*tlsCert, *tlsKey)
		if err != nil {
			log.Fatalf("vcsim: load -tlscert/-tlskey: %v", err)
		}
		model.Service.TLS.Certificates = []tls.Certificate{cert}
	}
	server := model.Service.NewServer()
	defer server.Close()

	if *seed {
		if err := seedInventory(context.Background(), model, server.URL); err != nil {
			log.Fatalf("vcsim: seed inventory: %v", err)
		}
	}

	public := *server.URL
	public.User = nil
	fmt.Printf("VCSIM_URL=%s\n", public.String())

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		stop <- syscall.SIGTERM
	}()
	<-stop
}
