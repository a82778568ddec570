//go:build linux

package fakeapi_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/fakeapi"
)

// Issue 12 item 8's re-check: in the two-way mode (--input-format
// stream-json, stdin open until the result is read), is a pipe for stdout
// safe, and does it hold the CLI back? A measurement with the real CLI,
// logged, never asserted; only with CLI_MEASURE=1:
//
//	CLI_MEASURE=1 go test -run TestMeasureCLIPipeTwoWay -v ./internal/fakeapi
func TestMeasureCLIPipeTwoWay(t *testing.T) {
	if os.Getenv("CLI_MEASURE") == "" {
		t.Skip("set CLI_MEASURE=1 to measure")
	}
	const size = 20 << 20
	for _, pause := range []time.Duration{0, 3 * time.Second} {
		srv := fakeapi.New(t, fakeapi.Text(fakeapi.Filler(size)))
		cmd := exec.Command(fakeapi.CLIPath(t), "-p", "--output-format", "stream-json", "--verbose", "--input-format", "stream-json")
		cmd.Env = append(os.Environ(), srv.Env(t, 0)...)
		stdin, err := cmd.StdinPipe()
		require.NoError(t, err)
		r, w, err := os.Pipe()
		require.NoError(t, err)
		cmd.Stdout = w
		require.NoError(t, cmd.Start())
		w.Close()
		start := time.Now()
		_, err = fmt.Fprintln(stdin, `{"type":"user","message":{"role":"user","content":"hi"}}`)
		require.NoError(t, err)

		var peak int
		sample := func() { peak = max(peak, rssKB(cmd.Process.Pid)) }
		deadline := time.Now().Add(pause)
		for time.Now().Before(deadline) {
			sample()
			time.Sleep(50 * time.Millisecond)
		}
		pausedPeak := peak
		br := bufio.NewReaderSize(r, 1<<20)
		var read int
		var sawResult bool
		for {
			line, err := br.ReadString('\n')
			read += len(line)
			sample()
			if strings.Contains(line, `"type":"result"`) {
				sawResult = true
				break
			}
			if err != nil {
				break
			}
		}
		atResult := time.Since(start)
		stdin.Close()
		rest, _ := bufio.NewReader(br).ReadString(0)
		read += len(rest)
		cmd.Wait() //nolint:errcheck // measured, not judged
		r.Close()
		t.Logf("two-way mode through a pipe, %d MB answer, reader paused %v: result line seen %v after %v, %d bytes read, CLI VmRSS peak %d MB during the pause, %d MB overall",
			size>>20, pause, sawResult, atResult.Round(time.Millisecond), read, pausedPeak>>10, peak>>10)
	}
}

func rssKB(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb int
			fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(v), " kB"), &kb)
			return kb
		}
	}
	return 0
}
