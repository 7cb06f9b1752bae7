package stream

// MaxViewers bounds the viewers of one stream at a time. Every viewer holds
// a WebSocket, a connection to the VNC server and two copy goroutines on
// the server: without a bound, whoever has a stream's URL and key could
// open viewers until the server runs out of file descriptors, and so stop
// it serving every tenant.
const MaxViewers = 16

// admit counts a viewer in, unless the stream has MaxViewers already.
func (e *entry) admit() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.open >= MaxViewers {
		return false
	}
	e.open++
	return true
}

func (e *entry) leave() {
	e.mu.Lock()
	e.open--
	e.mu.Unlock()
}
