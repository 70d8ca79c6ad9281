// Command sluice is a reverse proxy configured in TOML whose plugins are
// WebAssembly modules. See README.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	_ "net/http/pprof" // served only when SLUICE_PPROF is set
	"os"
	"os/signal"
	"syscall"

	"github.com/sluice-proxy/sluice/host/app"
)

func main() {
	os.Exit(doMain(os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

const usage = `sluice: a reverse proxy with WebAssembly plugins

Usage:
  sluice run      [-c PATH]   run the proxy (SIGHUP reloads the config, SIGTERM drains and stops)
  sluice validate [-c PATH]   check a config; exit 0, or print every error with its key path and exit 1
  sluice plugins list [-c PATH]
                              list the plugin dir's modules and the locations that use them
  sluice version              print the version

PATH is a TOML file or a directory of TOML files; SLUICE_CONF may give it instead of -c.
`

// doMain is main without the process: testable, with its output and
// environment injected.
func doMain(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, args := args[0], args[1:]
	switch cmd {
	case "version", "-v", "--version":
		fmt.Fprintln(stdout, "sluice", app.Version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	case "run":
		path, code := confFlag("run", args, stderr, getenv)
		if code != 0 {
			return code
		}
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
		defer stop()
		if addr := getenv("SLUICE_PPROF"); addr != "" {
			// Profiling for development: never on a public address.
			go func() {
				if err := http.ListenAndServe(addr, nil); err != nil {
					fmt.Fprintln(stderr, "sluice: SLUICE_PPROF:", err)
				}
			}()
		}
		if err := app.Run(ctx, app.Options{ConfigPath: path, Stderr: stderr}); err != nil {
			fmt.Fprintln(stderr, "sluice:", err)
			return 1
		}
		return 0
	case "validate", "test", "-t":
		path, code := confFlag("validate", args, stderr, getenv)
		if code != 0 {
			return code
		}
		warnings, err := app.Validate(context.Background(), app.Options{ConfigPath: path, Stderr: stderr})
		for _, w := range warnings {
			fmt.Fprintln(stderr, "warning:", w)
		}
		if err != nil {
			for _, line := range errorLines(err) {
				fmt.Fprintln(stderr, line)
			}
			return 1
		}
		fmt.Fprintf(stdout, "%s: ok\n", path)
		return 0
	case "plugins":
		if len(args) == 0 || args[0] != "list" {
			fmt.Fprintln(stderr, "usage: sluice plugins list [-c PATH]")
			return 2
		}
		path, code := confFlag("plugins list", args[1:], stderr, getenv)
		if code != 0 {
			return code
		}
		if err := app.ListPlugins(context.Background(), app.Options{ConfigPath: path, Stderr: stderr}, stdout); err != nil {
			fmt.Fprintln(stderr, "sluice:", err)
			return 1
		}
		return 0
	default:
		fmt.Fprintf(stderr, "sluice: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
}

// confFlag parses -c, falling back to SLUICE_CONF.
func confFlag(name string, args []string, stderr io.Writer, getenv func(string) string) (string, int) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("c", "", "config file or directory (default $SLUICE_CONF)")
	if err := fs.Parse(args); err != nil {
		return "", 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "sluice %s: unexpected argument %q\n", name, fs.Arg(0))
		return "", 2
	}
	if *path == "" {
		*path = getenv("SLUICE_CONF")
	}
	if *path == "" {
		fmt.Fprintf(stderr, "sluice %s: no config: give -c PATH or set SLUICE_CONF\n", name)
		return "", 2
	}
	return *path, 0
}

// errorLines flattens joined errors into one line each.
func errorLines(err error) []string {
	var out []string
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, c := range j.Unwrap() {
				walk(c)
			}
			return
		}
		out = append(out, e.Error())
	}
	walk(err)
	if len(out) == 0 {
		out = append(out, err.Error())
	}
	return out
}
