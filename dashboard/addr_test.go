package dashboard

import (
	"io"
	"strings"
	"testing"
)

func TestCheckAddr(t *testing.T) {
	tests := []struct {
		addr, err string
	}{
		{"", ""},
		{"8080", ""},
		{"0", ""},
		{":8080", ""},
		{"127.0.0.1:0", ""},
		{"localhost:8080", ""},
		{"[::1]:8080", ""},
		{"0.0.0.0:http", ""},
		{"notanaddr", "want PORT, HOST:PORT or :PORT"},
		{"127.0.0.1", "want PORT, HOST:PORT or :PORT"},
		{"-1", "not a number from 0 to 65535"},
		{"65536", "not a number from 0 to 65535"},
		{"127.0.0.1:99999", "not a number from 0 to 65535"},
		{"127.0.0.1:-5", "not a number from 0 to 65535"},
		{"127.0.0.1:nosuchservice", "not a number from 0 to 65535"},
		{"a b:80", "not a host name or IP address"},
		{"x/y:80", "not a host name or IP address"},
		{"[::1:80", "want PORT"},
	}
	for _, tc := range tests {
		t.Run(tc.addr, func(t *testing.T) {
			err := CheckAddr(tc.addr)
			if tc.err == "" {
				if err != nil {
					t.Fatalf("CheckAddr(%q): %v", tc.addr, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), tc.addr) {
				t.Fatalf("CheckAddr(%q): %v, want an error naming it and saying %q", tc.addr, err, tc.err)
			}
		})
	}
}

func TestListenRefusesBadAddresses(t *testing.T) {
	for _, addr := range []string{"notanaddr", "127.0.0.1:99999"} {
		if srv, err := Listen(addr, NewHandler(nil, nil), io.Discard, "Dashboard"); err == nil {
			srv.Close()
			t.Errorf("Listen(%q) listened", addr)
		} else if !strings.HasPrefix(err.Error(), "Dashboard: address") {
			t.Errorf("Listen(%q): %v", addr, err)
		}
	}
}
