package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// encode writes v as JSON with the given status.
func encode(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// errBodyTooLarge is returned by decode for bodies over MaxBodyBytes.
var errBodyTooLarge = errors.New("request body too large")

// decode reads one JSON value of type T from r's body: unknown fields and
// trailing data are errors.
func decode[T any](r *http.Request) (T, error) {
	var v T
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return v, decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err != nil {
			return v, decodeError(err)
		}
		return v, errors.New("invalid JSON: data after the object")
	}
	return v, nil
}

func decodeError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errBodyTooLarge
	}
	if errors.Is(err, io.EOF) {
		return errors.New("invalid JSON: empty body")
	}
	return fmt.Errorf("invalid JSON: %w", err)
}

// drain reads and discards a body we do not use, so that an oversized one
// still gets 413.
func drain(r *http.Request) error {
	_, err := io.Copy(io.Discard, r.Body)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errBodyTooLarge
	}
	return err
}

// tonkResponse is Tonk's answer shape: {"success":true,"data":...} or
// {"success":false,"error":"..."}.
type tonkResponse struct {
	Success bool   `json:"success"`
	Data    any    `json:"data,omitempty"`
	Error   string `json:"error,omitempty"`
}

// tonkError answers with Tonk's error shape.
func tonkError(w http.ResponseWriter, status int, msg string) {
	encode(w, status, tonkResponse{Error: msg})
}

// statusForDecode maps a decode error to its status code.
func statusForDecode(err error) int {
	if errors.Is(err, errBodyTooLarge) {
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusBadRequest
}
