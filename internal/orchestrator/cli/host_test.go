package cli

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/c0c8c5bf/claude-agent-sdk-go/internal/fakecli"
)

// envHost makes the test binary a host program that runs one stream of a
// hanging fake CLI (recording to the file it names) and never returns: the
// test then kills the host as a crash would.
const envHost = "CLI_TEST_HOST_RECORD"

func runHostIfRequested() {
	rec, ok := os.LookupEnv(envHost)
	if !ok {
		return
	}
	os.Unsetenv(envHost)
	exe, err := os.Executable()
	if err != nil {
		os.Exit(2)
	}
	req := Request{Prompt: "hi", Env: []string{fakecli.Env(fakecli.Script{
		fakecli.Record(rec), fakecli.Line(fakecli.InitLine()), fakecli.Hang(),
	}), noRaceExitSleep}}
	for range Stream(context.Background(), req, Options{Path: exe}) {
		churnThreads()
		if os.WriteFile(rec+".churned", nil, 0o600) != nil {
			os.Exit(4)
		}
		select {} // crash here: the test kills us
	}
	os.Exit(3)
}

// churnThreads ends many OS threads, the way a Go program may: a goroutine
// that exits locked to its thread makes the runtime end that thread, and
// Pdeathsig fires when the thread that started the child ends
// (golang/go#27505), not the process.
func churnThreads() {
	for range 20 {
		var wg sync.WaitGroup
		for range 4 * runtime.GOMAXPROCS(0) {
			wg.Go(func() {
				runtime.LockOSThread()       // never unlocked: the thread ends with us
				time.Sleep(time.Millisecond) // hold it while the others take theirs
			})
		}
		wg.Wait()
	}
}

// A host that dies (SIGKILL: no deferred cleanup runs) takes its CLI with
// it: the CLI is started with a parent-death signal.
func TestHostCrashKillsTheCLI(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Pdeathsig is Linux's")
	}
	exe, err := os.Executable()
	require.NoError(t, err)
	rec := filepath.Join(t.TempDir(), "rec.json")
	host := exec.Command(exe, "-test.run=^$")
	host.Env = append(os.Environ(), envHost+"="+rec, noRaceExitSleep)
	require.NoError(t, host.Start())
	require.Eventually(t, func() bool { _, err := os.Stat(rec); return err == nil }, safetyNet, 5*time.Millisecond)
	r, err := fakecli.ReadRecording(rec)
	require.NoError(t, err)
	t.Cleanup(func() { killPid(r.Pid) }) //nolint:errcheck // a regression's leftover
	require.Eventually(t, func() bool { _, err := os.Stat(rec + ".churned"); return err == nil }, safetyNet, 5*time.Millisecond)
	require.False(t, dead(r.Pid), "the CLI died when its host's threads changed")

	require.NoError(t, host.Process.Kill())
	host.Wait() //nolint:errcheck // killed
	assertDies(t, r.Pid, "the CLI outlived its crashed host")
}
