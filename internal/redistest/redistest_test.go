package redistest_test

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/redistest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// do sends one command in RESP and returns the first line of the reply.
func do(t *testing.T, addr string, args ...string) (string, error) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := c.Write([]byte(b.String())); err != nil {
		return "", err
	}
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	if strings.HasPrefix(line, "$") && line != "$-1\r\n" {
		line, err = r.ReadString('\n')
	}
	return strings.TrimSpace(line), err
}

func TestKillRestartKeepsData(t *testing.T) {
	srv := redistest.Start(t)
	assert.Equal(t, "redis://"+srv.Addr()+"/0", srv.URL())

	reply, err := do(t, srv.Addr(), "SET", "k", "kept")
	require.NoError(t, err)
	require.Equal(t, "+OK", reply)

	srv.Kill()
	_, err = do(t, srv.Addr(), "PING")
	require.Error(t, err, "a killed server still answers")
	srv.Kill() // idempotent

	addr := srv.Addr()
	srv.Restart()
	assert.Equal(t, addr, srv.Addr(), "restarted on another port")
	reply, err = do(t, srv.Addr(), "GET", "k")
	require.NoError(t, err)
	assert.Equal(t, "kept", reply, "the append-only file lost the write")

	reply, err = do(t, srv.Addr(), "CONFIG", "GET", "appendonly")
	require.NoError(t, err)
	assert.Equal(t, "*2", reply)
}

func TestConfigOption(t *testing.T) {
	srv := redistest.Start(t, redistest.Config("maxmemory-policy", "noeviction"))
	reply, err := do(t, srv.Addr(), "PING")
	require.NoError(t, err)
	assert.Equal(t, "+PONG", reply)
}

// TestStopAtCleanup checks that the server is gone once the test that
// started it has ended.
func TestStopAtCleanup(t *testing.T) {
	var addr string
	t.Run("inner", func(t *testing.T) {
		addr = redistest.Start(t).Addr()
	})
	_, err := do(t, addr, "PING")
	assert.Error(t, err, "the server outlived its test")
}

// TestSkipWithoutRedis runs Start with an empty PATH in a child process:
// outside CI the test is skipped with the install hint, with CI set it
// fails.
func TestSkipWithoutRedis(t *testing.T) {
	if os.Getenv("REDISTEST_CHILD") != "" {
		redistest.Start(t)
		t.Fatal("Start returned without redis-server")
	}
	for _, tc := range []struct {
		ci   string
		want string
	}{
		{"", "--- SKIP"},
		{"1", "--- FAIL"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestSkipWithoutRedis$", "-test.v")
		cmd.Env = append(os.Environ(), "REDISTEST_CHILD=1", "PATH=", "CI="+tc.ci)
		out, _ := cmd.CombinedOutput()
		assert.Contains(t, string(out), tc.want, "CI=%q", tc.ci)
		assert.Contains(t, string(out), "apt-get install redis-server", "CI=%q", tc.ci)
	}
}
