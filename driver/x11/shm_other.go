//go:build !linux

package x11

import (
	"context"
	"errors"
	"image"
)

// MIT-SHM needs System V shared memory and Linux namespaces: elsewhere
// (the e2b backend's builds for macOS and Windows use only the portable
// parts of this package) screenshots take GetImage.
type shmSegment struct{}

func (c *Conn) shmReady() bool { return false }

func (c *Conn) shmClose() {}

func (c *Conn) grabSHM(context.Context, image.Rectangle, *image.RGBA) error {
	return errors.New("MIT-SHM is only used on Linux")
}
