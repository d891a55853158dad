// Command loadgen measures a running gateway: it starts sessions, then
// has concurrent agents submit decide-only (authorize mode) requests for
// a while, and prints the throughput and latency percentiles. It is the
// tool behind docs/benchmarks.md, not part of the product.
//
//	loadgen -addr http://127.0.0.1:8700 -admin TOKEN -target local -c 32 -d 10s
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/client"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", client.DefaultAddr, "gateway address")
	admin := flag.String("admin", os.Getenv("GATEHOUSE_ADMIN_TOKEN"), "admin token")
	target := flag.String("target", "local", "target to submit to")
	conc := flag.Int("c", 32, "concurrent agents")
	dur := flag.Duration("d", 10*time.Second, "how long to submit")
	sessions := flag.Int("sessions", 0, "extra idle sessions to open first")
	command := flag.String("command", "cat README.md", "command each request submits")
	flag.Parse()
	ctx := context.Background()
	tr := &http.Transport{MaxIdleConnsPerHost: *conc * 2}
	adm := client.New(*addr, *admin)
	adm.HTTP = &http.Client{Transport: tr}
	for range *sessions {
		if _, err := adm.StartSession(ctx, client.StartSession{Agent: "idle", Grants: []string{*target + ":read"}}); err != nil {
			return fmt.Errorf("start idle session: %w", err)
		}
	}
	agents := make([]*client.Client, *conc)
	for i := range agents {
		s, err := adm.StartSession(ctx, client.StartSession{Agent: fmt.Sprintf("load-%d", i), Grants: []string{*target + ":read"}})
		if err != nil {
			return fmt.Errorf("start session: %w", err)
		}
		agents[i] = client.New(*addr, s.Token)
		agents[i].HTTP = &http.Client{Transport: tr}
	}
	var mu sync.Mutex
	var lat []time.Duration
	var errs int
	stop := time.Now().Add(*dur)
	var wg sync.WaitGroup
	start := time.Now()
	for _, a := range agents {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			bad := 0
			for time.Now().Before(stop) {
				t0 := time.Now()
				r, err := a.Submit(ctx, client.Submit{Target: *target, Command: *command, Mode: "authorize"})
				if err != nil || r.State != "approved" {
					bad++
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			errs += bad
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if len(lat) == 0 {
		return fmt.Errorf("no request succeeded (%d errors)", errs)
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(float64(len(lat))*p))] }
	fmt.Printf("requests %d in %s: %.0f/s, errors %d\n", len(lat), elapsed.Round(time.Millisecond), float64(len(lat))/elapsed.Seconds(), errs)
	fmt.Printf("latency p50 %s p90 %s p99 %s max %s\n", pct(0.50).Round(time.Microsecond), pct(0.90).Round(time.Microsecond),
		pct(0.99).Round(time.Microsecond), lat[len(lat)-1].Round(time.Microsecond))
	return nil
}
