// Package httpapi serves the gateway's HTTP API (SPEC §6) under /v1/: JSON
// in and out, bearer tokens, capped bodies, one function that turns
// errors into statuses, and an OpenAPI document at /v1/openapi.json.
package httpapi

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/client"
	"github.com/gatehouse/gatehouse/internal/gateway"
)

// MaxBodyBytes caps a request body: a command is at most 1 MiB, and JSON
// escaping can double it.
const MaxBodyBytes = 3 << 20

// MaxWait caps a long-poll.
const MaxWait = 60 * time.Second

//go:embed openapi.json
var openapi []byte

// Server is the HTTP API.
type Server struct {
	gw  *gateway.Service
	log *slog.Logger
	mux *http.ServeMux
}

// New returns the API's handler around a gateway.
func New(gw *gateway.Service, log *slog.Logger) *Server {
	s := &Server{gw: gw, log: log.With("component", "httpapi"), mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /v1/health", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.mux.HandleFunc("GET /v1/openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(openapi)
	})
	s.mux.HandleFunc("GET /v1/whoami", s.auth(s.whoami))
	s.mux.HandleFunc("POST /v1/sessions", s.auth(s.startSession))
	s.mux.HandleFunc("GET /v1/sessions/{id}", s.auth(s.getSession))
	s.mux.HandleFunc("POST /v1/sessions/{id}/end", s.auth(s.endSession))
	s.mux.HandleFunc("POST /v1/requests", s.auth(s.submit))
	s.mux.HandleFunc("GET /v1/requests", s.auth(s.listRequests))
	s.mux.HandleFunc("GET /v1/requests/{id}", s.auth(s.getRequest))
	s.mux.HandleFunc("POST /v1/requests/{id}/approve", s.auth(s.vote(true)))
	s.mux.HandleFunc("POST /v1/requests/{id}/deny", s.auth(s.vote(false)))
	s.mux.HandleFunc("POST /v1/requests/{id}/outcome", s.auth(s.report))
	s.mux.HandleFunc("GET /v1/audit/events", s.auth(s.events))
	s.mux.HandleFunc("GET /v1/audit/verify", s.auth(s.verify))
	s.mux.HandleFunc("/v1/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, s.log, fmt.Errorf("%w: no such endpoint %s %s (see /v1/openapi.json)", gateway.ErrNotFound, r.Method, r.URL.Path))
	})
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	s.mux.ServeHTTP(w, r)
}

// NewHTTPServer returns an http.Server with the timeouts a server facing
// agents needs: slow clients cannot hold connections forever, and the
// write timeout leaves room for the longest long-poll.
func NewHTTPServer(addr string, h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      MaxWait + 30*time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

type handler func(w http.ResponseWriter, r *http.Request, p *gateway.Principal) error

func (s *Server) auth(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || token == "" {
			writeError(w, r, s.log, fmt.Errorf("%w (send Authorization: Bearer TOKEN)", gateway.ErrUnauthorized))
			return
		}
		p, err := s.gw.Authenticate(r.Context(), strings.TrimSpace(token))
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		if err := h(w, r, p); err != nil {
			writeError(w, r, s.log, err)
		}
	}
}

// decode reads a JSON body strictly: capped, valid UTF-8, known fields
// only, one value.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return fmt.Errorf("%w: body larger than %d bytes", gateway.ErrInvalid, MaxBodyBytes)
		}
		return fmt.Errorf("%w: read body: %w", gateway.ErrInvalid, err)
	}
	if !utf8.Valid(data) {
		return fmt.Errorf("%w: body is not valid UTF-8", gateway.ErrInvalid)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: malformed JSON: %w", gateway.ErrInvalid, err)
	}
	if dec.More() {
		return fmt.Errorf("%w: malformed JSON: more than one value in the body", gateway.ErrInvalid)
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	enc.Encode(v)
}

// writeError is the one place errors become statuses. Messages of
// expected errors go to the client; anything else is logged and the
// client gets "internal error" with an id to find the log line.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	status, code := http.StatusInternalServerError, "internal"
	switch {
	case errors.Is(err, gateway.ErrInvalid):
		status, code = http.StatusBadRequest, "invalid_request"
	case errors.Is(err, gateway.ErrUnauthorized):
		status, code = http.StatusUnauthorized, "unauthorized"
	case errors.Is(err, gateway.ErrForbidden):
		status, code = http.StatusForbidden, "forbidden"
	case errors.Is(err, gateway.ErrNotFound):
		status, code = http.StatusNotFound, "not_found"
	case errors.Is(err, gateway.ErrConflict):
		status, code = http.StatusConflict, "conflict"
	case errors.Is(err, gateway.ErrExpired):
		status, code = http.StatusGone, "expired"
	case errors.Is(err, gateway.ErrTooMany):
		status, code = http.StatusTooManyRequests, "too_many"
	case errors.Is(err, gateway.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		status, code = http.StatusServiceUnavailable, "unavailable"
	}
	msg := err.Error()
	if status == http.StatusInternalServerError || status == http.StatusServiceUnavailable {
		id := errorID()
		log.Error("request failed", "method", r.Method, "path", r.URL.Path, "error_id", id, "error", err)
		msg = fmt.Sprintf("%s error (id %s); the gateway's log has the details", code, id)
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse"`)
	}
	writeJSON(w, status, client.ErrorBody{Error: msg, Code: code})
}
