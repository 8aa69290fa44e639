// Package natsauth owns who may do what on factstream's own NATS server: the roles (sensor, resolver,
// reader, admin), the permissions each has over the streams and subjects package schemas names, the nkey
// identities that carry them, the credentials files under a data directory that hold those identities,
// and the client options that present them.
//
// The embedded server of `factstream up` (or of a sensor that runs its own) admits only these
// identities. Nobody may erase the record: FACT_RAW and FACT_ACTIVITY deny message deletion and purges
// (see Protect), and no role may delete those streams.
//
// Credentials are nkey seeds, one file per role in <data-dir>/creds/<role>.nk (directory 0700, files
// 0600). The `nats` CLI takes them with --nkey; factstream's commands find them there, or take a file
// with --creds (an nkey seed or a NATS .creds file with a user JWT).
package natsauth
