// Package changeset computes the net change set of a period from the FILE_ACTIVITY events of one host,
// as `factstream diff` reports it: which files were added, removed, renamed, or left with other content,
// mode or owner at the period's end than at its start, and what scans found changed (drift). It knows
// nothing of NATS: it folds a time-ordered slice of schemas.Activity (package pipeline's History
// returns one) and returns a Report.
//
// # The fold
//
// Events are followed by file identity (dev, inode), so that a rename carries a file's history with it:
// a file created and then renamed is added at its final path, a file renamed and then removed is removed
// at its path at the start, a file renamed back to its name is not renamed, and a file created and
// removed within the period does not appear. Content compares the first known hash of the period (a
// content event's old_hash) with the last one; mode and owner compare the first old value with the last
// new one, so that A→B→A is no change. A file written but left as it was is reported only with
// Options.All. A rename of a directory moves the files already followed below it; the files below it
// that had no event of their own are covered by the directory's line.
//
// What the events cannot say is not guessed: a file whose first content event has no old_hash (the
// resolver knew no hash before) is reported with an empty old hash, and gap events make the Report
// incomplete (Report.Gaps). A file that a rename replaced is removed only when the period has an event of
// it: the rename event does not name the file it replaced.
//
// Nothing in this package is safe for concurrent use; Compute keeps no state between calls.
package changeset
