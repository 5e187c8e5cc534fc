//go:build tools

// Package tools pins Mailpit's module, so that `go install` builds exactly go.mod/go.sum.
package tools

import _ "github.com/axllent/mailpit"
