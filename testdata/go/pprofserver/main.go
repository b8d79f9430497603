// pprofserver: a Go program serving net/http/pprof, for the scrape tests.
// It burns CPU in burnForScrape, contends a mutex in contendForScrape
// (after a burst of contention before it starts serving, so that a scraper
// that stores deltas can be told from one that stores totals) and
// allocates in allocForScrape. Standard library only.
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"runtime"
	"sync"
	"time"
)

var sink []byte

//go:noinline
func burnForScrape() uint64 {
	x := uint64(1)
	for i := 0; i < 2000000; i++ {
		x = x*6364136223846793005 + 1442695040888963407
	}
	return x
}

//go:noinline
func allocForScrape() {
	sink = make([]byte, 64<<10)
}

//go:noinline
func contendForScrape(mu *sync.Mutex, d time.Duration) {
	mu.Lock()
	time.Sleep(d)
	mu.Unlock()
}

func contention(d time.Duration, rounds int) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < rounds; i++ {
				contendForScrape(&mu, d)
			}
		}()
	}
	wg.Wait()
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	flag.Parse()
	runtime.SetMutexProfileFraction(1)
	runtime.SetBlockProfileRate(1)
	// The burst: about 300 ms of contention before serving.
	contention(5*time.Millisecond, 20)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr().String())
	go func() {
		var s uint64
		for {
			s += burnForScrape()
			allocForScrape()
		}
	}()
	go func() {
		for {
			contention(100*time.Microsecond, 5)
			time.Sleep(20 * time.Millisecond)
		}
	}()
	if err := http.Serve(ln, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
