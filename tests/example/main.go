// Command example is the leaky service that `scripts/demo` analyses with ifxray.
//
// It runs a small job pipeline that stays healthy (workers fed by a dispatcher), plus three
// classic goroutine leaks that can never be woken up again:
//
//   - a lookup that gave up after its timeout, leaving its helper blocked sending on an
//     unbuffered channel that nobody receives from;
//   - a watcher waiting on a channel field that was never made (receive from a nil channel);
//   - a collector waiting on a sync.WaitGroup whose counter never reaches zero.
//
// It prints its pid, then READY once the leaks are in place, and keeps serving until it gets
// SIGINT or SIGTERM. The module says `go 1.19` so every toolchain the tests use can build it.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

type job struct {
	id      int
	payload string
}

// pool is the healthy part: workers blocked on jobs are waiting for work, not leaked.
type pool struct {
	jobs      chan job
	processed atomic.Int64
}

func newPool(workers int) *pool {
	p := &pool{jobs: make(chan job)}
	for i := 0; i < workers; i++ {
		go p.work(i)
	}
	return p
}

func (p *pool) work(worker int) {
	for j := range p.jobs {
		_ = fmt.Sprintf("worker %d handled job %d (%s)", worker, j.id, j.payload)
		p.processed.Add(1)
	}
}

// lookup asks a slow backend for a value but gives up after timeout. The helper goroutine sends
// its answer on an unbuffered channel; once lookup has returned, nobody ever receives it.
// Leak #1: chan send, and nothing that can run holds the channel.
func lookup(key string, timeout time.Duration) (string, error) {
	answer := make(chan string)
	go func() {
		time.Sleep(5 * timeout) // the slow backend
		answer <- "value-of-" + key
	}()
	select {
	case v := <-answer:
		return v, nil
	case <-time.After(timeout):
		return "", errors.New("lookup " + key + ": timed out")
	}
}

// watcher waits for a shutdown signal on done, but newWatcher forgot to make the channel.
// Leak #2: receive from a nil channel blocks forever.
type watcher struct {
	name string
	done chan struct{}
}

func newWatcher(name string) *watcher {
	return &watcher{name: name} // bug: done is never made
}

func (w *watcher) run() {
	<-w.done
	fmt.Println("watcher", w.name, "stopped")
}

// collectShards starts one fetcher per shard and a collector that waits for all of them. A
// shard that fails validation returns early without calling Done.
// Leak #3: the collector waits on a WaitGroup that never reaches zero.
func collectShards(shards []string) {
	var wg sync.WaitGroup
	wg.Add(len(shards))
	for _, s := range shards {
		if s == "" {
			continue // bug: should call wg.Done() for the skipped shard
		}
		go func(shard string) {
			defer wg.Done()
			_ = "fetched " + shard
		}(s)
	}
	go func() {
		wg.Wait()
		fmt.Println("all shards collected")
	}()
}

func main() {
	fmt.Printf("ifxray example: pid %d\n", os.Getpid())

	p := newPool(3)
	if _, err := lookup("user:42", 20*time.Millisecond); err != nil {
		fmt.Fprintln(os.Stderr, "example:", err)
	}
	go newWatcher("config").run()
	collectShards([]string{"eu", "", "us"})

	// Give the leaked lookup helper time to reach its send, then announce readiness.
	time.Sleep(300 * time.Millisecond)
	fmt.Println("READY")

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for id := 0; ; id++ {
		select {
		case <-tick.C:
			p.jobs <- job{id: id, payload: "tick"}
		case s := <-stop:
			fmt.Printf("ifxray example: %v after %d jobs, exiting\n", s, p.processed.Load())
			return
		}
	}
}
