package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/gatehouse/gatehouse/client"
)

// newClient is a client for $GATEHOUSE_ADDR with $GATEHOUSE_TOKEN; admin
// commands fall back to $GATEHOUSE_ADMIN_TOKEN when no token is set. The
// server decides what a token may do.
func (m *Main) newClient(admin bool) (*client.Client, error) {
	token := m.Getenv("GATEHOUSE_TOKEN")
	if token == "" && admin {
		token = m.Getenv("GATEHOUSE_ADMIN_TOKEN")
	}
	if token == "" {
		hint := "export GATEHOUSE_TOKEN=<your session or reviewer token>"
		if admin {
			hint = "export GATEHOUSE_ADMIN_TOKEN=$(cat DATA_DIR/admin.token)   # serve says where on first start"
		}
		return nil, usageError{msg: "no token: set $GATEHOUSE_TOKEN", hint: hint}
	}
	return client.New(m.Getenv("GATEHOUSE_ADDR"), token), nil
}

// apiError turns a gateway error answer into a message for a human.
func apiError(err error) error {
	var ae *client.Error
	if errors.As(err, &ae) {
		return fmt.Errorf("%s (%d %s)", ae.Message, ae.Status, ae.Code)
	}
	return err
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
