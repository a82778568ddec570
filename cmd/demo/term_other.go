//go:build !linux && !darwin

package main

import "os"

// terminalWidth is the number of columns of the terminal f, 0 when unknown
// (always, on this system: the status line is then not truncated).
func terminalWidth(*os.File) int { return 0 }
