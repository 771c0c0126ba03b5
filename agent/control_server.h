// The control socket's listener (docs/control.md): a Unix stream socket
// <dir>/<pid>.sock in the private directory of control_dir.h, served by
// one thread named "sled-ctl" with every signal blocked. Owns the socket
// file and that thread; the verbs are control_verbs.h's.
//
// The thread never holds a lock across accept, read or write: a request
// line is read, then served under the agent state's lock (which sled calls
// may hold across a grace period), then the reply is written. One
// connection is served at a time; a connection idle for 5 s is closed.
//
// Peers: SO_PEERCRED must name the process's effective uid or root; any
// other peer gets one error line and the connection is closed.
//
// fork without exec: the child closes the inherited listening descriptor
// (its own thread is not started: the child has no socket) and never
// removes its parent's socket file. exec: the descriptors are
// close-on-exec; an exec'ed image that loads the agent listens on its own.
#pragma once

namespace sled::agent {

// Starts listening unless SLED_CONTROL=0. Says one line on stderr when it
// cannot (the program runs on). Called once, from the agent's constructor.
void control_start();

// At exit (the agent's destructor, after the agent state is marked
// exiting): removes the socket file and wakes the thread, which ends.
void control_stop();

}  // namespace sled::agent
