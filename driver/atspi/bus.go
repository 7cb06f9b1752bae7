// Package atspi reads and drives the accessibility tree of a Linux desktop
// (AT-SPI2 over D-Bus, github.com/godbus/dbus/v5: one connection, calls
// pipelined, no process per call): compact text snapshots with short
// references, search by role and name, and actions on a reference.
//
// It runs inside the sandbox, never in the server. The local backend starts
// it as a process of the sandbox user (the server's binary re-executed, in
// the sandbox's namespaces and user cgroup) and talks to it in JSON lines
// through the in-sandbox agent (Serve); the e2b backend runs the same code
// in its uploaded helper, cmd/vmhelper. Why not connect the server to the
// sandbox's bus socket, as it does for the X socket: the tree comes from
// applications the tenant controls, so every D-Bus message of it is
// untrusted input. Parsed inside the sandbox, a hostile application can
// only exhaust that sandbox's own limits, while the server gets a bounded
// JSON reply; and the bus needs no authentication exception for a foreign
// uid (a bus only admits its own user, and the server's root is no user
// inside the sandbox's namespace).
package atspi

import (
	"context"
	"errors"
	"os"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/vmservice/vmservice/sandbox"
)

// D-Bus names of AT-SPI2.
const (
	ifAccessible   = "org.a11y.atspi.Accessible"
	ifAction       = "org.a11y.atspi.Action"
	ifComponent    = "org.a11y.atspi.Component"
	ifText         = "org.a11y.atspi.Text"
	ifEditableText = "org.a11y.atspi.EditableText"
	ifValue        = "org.a11y.atspi.Value"
	ifSelection    = "org.a11y.atspi.Selection"
	ifProperties   = "org.freedesktop.DBus.Properties"

	registryName = "org.a11y.atspi.Registry"
	rootPath     = dbus.ObjectPath("/org/a11y/atspi/accessible/root")
	nullPath     = dbus.ObjectPath("/org/a11y/atspi/null")
)

// objRef is an accessible object: its application's bus name and path.
type objRef struct {
	Name string
	Path dbus.ObjectPath
}

func (r objRef) null() bool { return r.Path == "" || r.Path == nullPath || r.Name == "" }

// busAddress finds the accessibility bus the way applications do:
// AT_SPI_BUS_ADDRESS, else org.a11y.Bus on the session bus (which starts
// the bus on first use).
func busAddress(ctx context.Context) (string, error) {
	if a := os.Getenv("AT_SPI_BUS_ADDRESS"); a != "" {
		return a, nil
	}
	sess, err := dbus.SessionBusPrivate()
	if err != nil {
		return "", err
	}
	defer sess.Close()
	if err := sess.Auth(nil); err != nil {
		return "", err
	}
	if err := sess.Hello(); err != nil {
		return "", err
	}
	var addr string
	err = sess.Object("org.a11y.Bus", "/org/a11y/bus").CallWithContext(ctx, "org.a11y.Bus.GetAddress", 0).Store(&addr)
	return addr, err
}

// connect opens the accessibility bus.
func connect(ctx context.Context) (*dbus.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	addr, err := busAddress(ctx)
	if err != nil {
		return nil, sandbox.Errorf(sandbox.CodeBackendUnavailable,
			"the sandbox has no accessibility bus (AT-SPI2): its session bus or at-spi2-core is missing").WithCause(err)
	}
	// Not dbus.WithContext: that would close the connection with ctx.
	c, err := dbus.Connect(addr)
	if err != nil {
		return nil, sandbox.Errorf(sandbox.CodeBackendUnavailable, "cannot connect to the sandbox's accessibility bus").WithCause(err)
	}
	return c, nil
}

// batch sends many calls at once and waits for all their replies: one
// round trip for a whole level of the tree instead of one per call.
type batch struct {
	c     *dbus.Conn
	ch    chan *dbus.Call
	calls []pendingCall
}

type pendingCall struct {
	call  *dbus.Call
	store func(*dbus.Call)
}

func newBatch(c *dbus.Conn) *batch { return &batch{c: c} }

// add queues a call; store runs with its reply (call.Err set on failure).
func (b *batch) add(r objRef, method string, store func(*dbus.Call), args ...any) {
	b.calls = append(b.calls, pendingCall{store: store, call: &dbus.Call{Destination: r.Name, Path: r.Path, Method: method, Args: args}})
}

// prop queues a property read.
func (b *batch) prop(r objRef, iface, name string, store func(dbus.Variant, error)) {
	b.add(r, ifProperties+".Get", func(c *dbus.Call) {
		var v dbus.Variant
		err := c.Err
		if err == nil {
			err = c.Store(&v)
		}
		store(v, err)
	}, iface, name)
}

// errTimeout marks calls an application did not answer in time.
var errTimeout = errors.New("no reply in time")

// run sends the queued calls and waits until all have replied or wait has
// passed; calls left unanswered get errTimeout.
func (b *batch) run(ctx context.Context, wait time.Duration) {
	if len(b.calls) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	ch := make(chan *dbus.Call, len(b.calls))
	sent := make(map[*dbus.Call]int, len(b.calls))
	for i, pc := range b.calls {
		iface, method := splitMethod(pc.call.Method)
		obj := b.c.Object(pc.call.Destination, pc.call.Path)
		c := obj.GoWithContext(ctx, iface+"."+method, 0, ch, pc.call.Args...)
		b.calls[i].call = c
		sent[c] = i
	}
	got := 0
	done := make([]bool, len(b.calls))
	for got < len(b.calls) {
		select {
		case c := <-ch:
			i, ok := sent[c]
			if !ok || done[i] {
				continue
			}
			done[i] = true
			got++
			b.calls[i].store(c)
		case <-ctx.Done():
			for i, pc := range b.calls {
				if !done[i] {
					pc.call.Err = errTimeout
					pc.store(pc.call)
				}
			}
			b.calls = b.calls[:0]
			return
		}
	}
	b.calls = b.calls[:0]
}

func splitMethod(m string) (string, string) {
	i := strings.LastIndexByte(m, '.')
	return m[:i], m[i+1:]
}
