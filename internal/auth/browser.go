package auth

import (
	"errors"
	"os/exec"
	"runtime"
)

// OpenBrowser asks the desktop to open url in the default browser. It does
// not wait for the browser, and passes url as one argument, never through a
// shell.
func OpenBrowser(url string) error {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", url)
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", url)
	default:
		path, err := exec.LookPath("xdg-open")
		if err != nil {
			return errors.New("no xdg-open on this machine")
		}
		cmd = exec.Command(path, url)
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() { _ = cmd.Wait() }() // reap it
	return nil
}
