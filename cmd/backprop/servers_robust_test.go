package main

import (
	"strings"
	"testing"
)

func TestServerCommandsRefuseBadAddressesAsUsage(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		msg  string
	}{
		{"dashboard, no port", []string{"dashboard", "--addr", "notanaddr", dir}, `--addr: address "notanaddr": want PORT, HOST:PORT or :PORT`},
		{"dashboard, port too large", []string{"dashboard", "--addr", "70000", dir}, "not a number from 0 to 65535"},
		{"playground, no port", []string{"playground", "--addr", "notanaddr"}, `--addr: address "notanaddr"`},
		{"playground, bad host", []string{"playground", "--addr", "a b:80"}, "not a host name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := run(t, tc.args...)
			if code != 2 || !strings.Contains(stderr, tc.msg) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
				t.Errorf("%v: exit %d (want 2), stderr %q (want one line with %q)", tc.args, code, stderr, tc.msg)
			}
		})
	}
}

func TestCheckDashboardAddrIsAUsageError(t *testing.T) {
	err := checkDashboardAddr("--dashboard", "notanaddr")
	if _, ok := err.(usageError); !ok || !strings.HasPrefix(err.Error(), `--dashboard: address "notanaddr"`) {
		t.Fatalf("checkDashboardAddr: %T %v", err, err)
	}
	if err := checkDashboardAddr("--dashboard", "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
}
