// Package lease decides which resolver worker owns which partition of FACT_RAW. Ownership is a lease in
// the KV bucket FACT_LEASES (schemas.LeaseBucket), one key per partition (p.<n>): a worker acquires a
// partition by creating the key, keeps it by updating the key with the revision it last wrote (compare and
// set), and loses it when an update fails or when it could not renew for a whole TTL; the bucket's TTL
// removes the key of a worker that stopped renewing, so another can create it. The revision of the create
// is the lease's epoch: later owners of a partition have higher epochs.
//
// Workers announce themselves with a heartbeat key (w.<worker>) that expires the same way, and each takes
// a fair share of the partitions among the live workers: ⌊N/W⌋, one more for the first N mod W workers in
// id order. A worker above its share releases partitions, one below it takes free ones, so the partitions
// of a worker that disappears move to the others, and a worker that joins gets its share. Each worker
// prefers the partitions that hash highest with its id (rendezvous), so workers rarely contend for the
// same key and a partition tends to come back to the same worker.
//
// A Manager runs its owner function in a goroutine per owned partition, with a context that ends when the
// lease ends. A Manager is safe for concurrent use; its state is owned by the goroutine running Run.
package lease
