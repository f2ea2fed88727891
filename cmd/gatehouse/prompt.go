package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// maxPasswordLine bounds what is read from standard input.
const maxPasswordLine = 4096

// readPassword asks for a password twice on a terminal; otherwise it takes
// the first line of standard input. Passwords never come from flags, where
// they would show in the process list and shell history.
func readPassword(e *env, prompt string) (string, error) {
	if f, ok := e.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintf(e.stderr, "%s: ", prompt)
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(e.stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		fmt.Fprint(e.stderr, "Again: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(e.stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if string(a) != string(b) {
			return "", usageError("the two passwords differ")
		}
		return string(a), nil
	}
	r := bufio.NewReaderSize(io.LimitReader(e.stdin, maxPasswordLine+1), maxPasswordLine+1)
	line, err := r.ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from standard input: %w", err)
	}
	if len(line) > maxPasswordLine {
		return "", usageError("the password line on standard input is longer than %d bytes", maxPasswordLine)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", usageError("no password: give it on the first line of standard input, or run in a terminal to be asked")
	}
	return line, nil
}
