// Package hasher owns the sensor's content hashes: a pool of workers that hash a monitored file after
// the kernel reports its last close following a write, and report one Result per attempt.
//
// What it guarantees:
//
//   - Identity, not path: a file is opened by a handle built from its inode number and generation
//     (open_by_handle_at) on filesystems whose handle layout AddFilesystem learned, else by the path the
//     request carries, and in every case fstat (and the generation, where the filesystem exposes it)
//     confirms it is the request's inode before a byte is read. A different inode behind the path is
//     StateUnreadable with the reason "inode reused". Opening by handle needs CAP_DAC_READ_SEARCH;
//     without it every open falls back to the path. Where neither FS_IOC_GETVERSION nor a learned
//     layout gives a path-opened file's generation, only its dev and inode number are checked.
//   - Never a hash of part of a file: the file is stat'ed before and after; a file over Config.MaxSize
//     is StateTooLarge with no digest, one that changed meanwhile is StateChangedDuringHash with no
//     digest, and is hashed again once quiet (up to Config.MaxRetries times).
//   - Coalescing: requests for an identity already waiting push its quiet deadline (Config.Quiet)
//     instead of queueing twice; a request for an identity being hashed schedules one more attempt.
//   - Bounded: at most Config.QueueSize identities wait or are being hashed; a request for a new
//     identity beyond that is answered at once with StateRateLimited, never dropped silently. Reading
//     is paced by one token bucket of Config.BytesPerSecond shared by the workers.
//   - Background work (SubmitWait, a scan's baseline) never crowds out Submit: it holds at most half of
//     Config.QueueSize, waits for room rather than being refused, and a worker takes it only when no
//     Submit request is due. Its requests may leave the generation unknown (Request.GenUnknown): they
//     are opened by path, and dev and inode number are checked.
//
// Metrics (factstream_sensor_hash_*): hashed_total, bytes_total, skipped_total{reason}, coalesced_total
// and queue_depth, registered on Config.Registerer.
//
// A Hasher is safe for concurrent use: Submit, SubmitWait and AddFilesystem may be called from any goroutine,
// before or while Run runs. Run runs once; Close releases the filesystems' descriptors after Run has
// returned. Identity.Dev is st_dev as stat(2) reports it; the caller converts the kernel's encoding.
// Linux only (file handles, FS_IOC_GETVERSION).
package hasher
