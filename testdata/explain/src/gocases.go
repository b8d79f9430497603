// Go workloads with a known dominant cause, for the interpreter's
// evaluation set (profiled by `stackhouse agent`; see ../make.sh).
//
//	gocases MODE SECONDS
package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"sync"
	"time"
)

var sink int

type order struct {
	ID       int      `json:"id"`
	Customer string   `json:"customer"`
	Total    float64  `json:"total"`
	Items    []string `json:"items"`
}

//go:noinline
func renderOrders() {
	orders := make([]order, 100)
	for i := range orders {
		orders[i] = order{i, "c" + strconv.Itoa(i), float64(i) * 1.5, []string{"a", "b"}}
	}
	b, _ := json.Marshal(orders)
	var back []order
	_ = json.Unmarshal(b, &back)
	sink += len(back)
}

//go:noinline
func validate(s string) bool {
	re := regexp.MustCompile(`^[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}$`) // compiled on every call
	return re.MatchString(s)
}

type record struct {
	name  string
	attrs map[string]string
}

//go:noinline
func buildRecords() {
	rs := make([]*record, 0, 16)
	for i := 0; i < 2000; i++ {
		rs = append(rs, &record{name: strconv.Itoa(i), attrs: map[string]string{"k": "v"}})
	}
	sink += len(rs)
}

//go:noinline
func mandelbrot() {
	for y := 0; y < 64; y++ {
		for x := 0; x < 64; x++ {
			cr, ci := float64(x)/32-1.5, float64(y)/32-1
			zr, zi, k := 0.0, 0.0, 0
			for k < 500 && zr*zr+zi*zi < 4 {
				zr, zi = zr*zr-zi*zi+cr, 2*zr*zi+ci
				k++
			}
			sink += k
		}
	}
}

var block = func() []byte {
	b := make([]byte, 1<<16)
	for i := range b {
		b[i] = byte(i*31 + i/7)
	}
	return b
}()

//go:noinline
func compressBlocks() {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(block)
	w.Close()
	sink += buf.Len()
}

//go:noinline
func hashChunks() {
	for i := 0; i < 16; i++ {
		s := sha256.Sum256(block)
		sink += int(s[0])
	}
}

//go:noinline
func formatLines() {
	for i := 0; i < 1000; i++ {
		s := fmt.Sprintf("%s request=%d latency=%.3fms user=%s status=%d", "INFO", i, float64(i)*0.37, "alice", 200+i%3)
		sink += len(s)
	}
}

var mu sync.Mutex
var counter int

//go:noinline
func updateCounter(deadline time.Time) {
	for time.Now().Before(deadline) {
		mu.Lock()
		for i := 0; i < 50; i++ {
			counter += i
		}
		mu.Unlock()
	}
}

//go:noinline
func scoreItems(factor int) {
	for i := 0; i < 20000*factor; i++ {
		sink += i * i % 7
	}
}

//go:noinline
func rankItems() {
	for i := 0; i < 60000; i++ {
		sink += i ^ (i >> 3)
	}
}

func main() {
	mode := os.Args[1]
	secs, _ := strconv.ParseFloat(os.Args[2], 64)
	deadline := time.Now().Add(time.Duration(secs * float64(time.Second)))
	loop := func(f func()) {
		for time.Now().Before(deadline) {
			f()
		}
	}
	switch mode {
	case "json":
		loop(renderOrders)
	case "regex":
		loop(func() { validate("someone@example.com") })
	case "alloc":
		loop(buildRecords)
	case "compute":
		loop(mandelbrot)
	case "gzip":
		loop(compressBlocks)
	case "sha256":
		loop(hashChunks)
	case "fmt":
		loop(formatLines)
	case "lock":
		var wg sync.WaitGroup
		for i := 0; i < 4; i++ {
			wg.Add(1)
			go func() { defer wg.Done(); updateCounter(deadline) }()
		}
		wg.Wait()
	case "regress-base":
		loop(func() { scoreItems(1); rankItems() })
	case "regress-new":
		loop(func() { scoreItems(4); rankItems() })
	default:
		fmt.Fprintln(os.Stderr, "unknown mode", mode)
		os.Exit(2)
	}
	fmt.Println(sink)
}
