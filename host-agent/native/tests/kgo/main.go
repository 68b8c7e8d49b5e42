// vf-kgo: the Go program of the kernel path tests (built with CGO_ENABLED=0: no libc, so the
// preload shim never sees its sockets; only the kernel hooks do).
//
//	vf-kgo serve PORT TAG    listens on 127.0.0.1:PORT and on :PORT (dual-stack), prints
//	                         "ready LOCAL1 LOCAL2" (as the program sees them), answers TAG + "\n"
//	vf-kgo connect ADDR      "reply TAG local L remote R" or "error ..."
package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

func main() {
	if len(os.Args) >= 4 && os.Args[1] == "serve" {
		serve(os.Args[2], os.Args[3])
		return
	}
	if len(os.Args) >= 3 && os.Args[1] == "connect" {
		connect(os.Args[2])
		return
	}
	fmt.Fprintln(os.Stderr, "usage: vf-kgo serve PORT TAG | connect ADDR")
	os.Exit(2)
}

func serve(port, tag string) {
	time.AfterFunc(60*time.Second, func() { os.Exit(3) }) // never outlive a broken test run
	lo, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	any, err := net.Listen("tcp", ":"+port)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Println("ready", lo.Addr(), any.Addr())
	for _, l := range []net.Listener{lo, any} {
		go func(l net.Listener, suffix string) {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				fmt.Fprintf(c, "%s%s\n", tag, suffix)
				c.Close()
			}
		}(l, map[bool]string{true: "-lo", false: "-any"}[l == lo])
	}
	select {}
}

func connect(addr string) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Printf("reply %s local %s remote %s\n", strings.TrimSpace(line), c.LocalAddr(), c.RemoteAddr())
}
