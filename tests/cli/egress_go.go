// SPDX-License-Identifier: MIT
// A Go net/http app for tests/cli/test_egress.sh: two requests on one kept-alive connection
// with the keep-alive race forced by events, as tests/peers/egress_peers.js forces it on Node.
//
//	egress_go BASE_URL METHOD
//
// BASE_URL is the upstream itself (direct), egress in reverse mode, or, with HTTP_PROXY set,
// the upstream reached through egress in forward mode. Go's ProxyFromEnvironment never proxies
// loopback hosts, so HTTP_PROXY is read here and set with http.ProxyURL: the same request a
// Go service sends through a proxy to a remote host.
//
// Go is not blind the way Node's blocked event loop is: its read loop sees a FIN at once and
// drops the idle connection. So the test puts `tether proxy` between the app and the server it
// talks to (the upstream, or egress) and stops that proxy (SIGSTOP) while the upstream closes:
// the FIN waits in the proxy, as it waits in a Node app's unread socket. The app sends its
// second request when the test writes a line on its stdin; the proxy resumes once the request
// is in its socket. The same proxy sits in front of egress in the egress cases, so only what
// is behind it differs.
//
// Prints "first ..." and "second ..." lines ("ok STATUS" or "error MESSAGE"); exits 0.
package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

func request(c *http.Client, base, method string) string {
	var body io.Reader
	if method == "POST" {
		body = strings.NewReader("order=1")
	}
	req, err := http.NewRequest(method, base+"/orders", body)
	if err != nil {
		return "error " + err.Error()
	}
	resp, err := c.Do(req)
	if err != nil {
		return "error " + err.Error()
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return fmt.Sprintf("ok %d", resp.StatusCode)
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: egress_go BASE_URL METHOD")
		os.Exit(2)
	}
	base, method := os.Args[1], os.Args[2]
	tr := &http.Transport{MaxIdleConnsPerHost: 1}
	if p := os.Getenv("HTTP_PROXY"); p != "" {
		u, err := url.Parse(p)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bad HTTP_PROXY:", err)
			os.Exit(2)
		}
		tr.Proxy = http.ProxyURL(u)
	}
	c := &http.Client{Transport: tr, Timeout: 20 * time.Second}

	fmt.Println("first " + request(c, base, method))
	// The test answers once the upstream has closed its side and the proxy is stopped.
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		fmt.Println("second error: no go-ahead on stdin:", err)
		return
	}
	fmt.Println("second " + request(c, base, method))
}
