// Package auth signs locations-worker in to Google and keeps it signed in.
//
// It reads the OAuth client file downloaded from the Google Cloud console
// (credentials.json, "web" or "installed" kind), runs the authorization code
// flow with state and PKCE on a loopback listener (or by pasting the redirect
// URL on a headless machine), stores the token in a 0600 file written
// atomically, and hands out a TokenSource that writes every refreshed token
// back to that file. It asks the Data Portability API whether the grant is
// one-time or time-based, and reports what was granted in a StatusInfo.
//
// It is not an API client for archive jobs, and it never logs or returns
// tokens, client secrets or authorization codes.
package auth
