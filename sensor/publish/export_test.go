package publish

// Kill stops p as a killed process would: its goroutine ends where it is and its files and lock are
// released, with nothing persisted (no cursor, no head segment, no loss file).
func Kill(p *Publisher) {
	close(p.stop)
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closing = true
	p.spool.release()
	p.cfg.Conn.RemoveStatusListener(p.connected)
}
