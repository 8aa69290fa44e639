package natsauth

import "errors"

var (
	// ErrUnknownRole is returned for a role that is not one of Roles.
	ErrUnknownRole = errors.New("unknown role")
	// ErrNoHost is returned for a sensor identity without a host to scope it to.
	ErrNoHost = errors.New("a sensor identity needs its host name (a subject token: no dots, wildcards or spaces)")
	// ErrBadCredentials is returned for a credentials file that holds no user seed.
	ErrBadCredentials = errors.New("not a credentials file")
	// ErrNotAuthorized wraps a refusal of the server: a connection without valid credentials, or an
	// operation the identity may not perform.
	ErrNotAuthorized = errors.New("not authorized")
)
