package x11

import (
	"context"
	"encoding/binary"
	"image"

	"github.com/jezek/xgb/xproto"

	"github.com/vmservice/vmservice/sandbox"
)

// pixelFormat says how to turn the server's ZPixmap bytes into RGBA.
type pixelFormat struct {
	ok                     bool // 32 bits per pixel with 8-bit channels
	standard               bool // BGRX in memory: the common case, fast path
	rShift, gShift, bShift uint
}

func newPixelFormat(setup *xproto.SetupInfo, scr *xproto.ScreenInfo) pixelFormat {
	bpp := 0
	for _, f := range setup.PixmapFormats {
		if f.Depth == scr.RootDepth {
			bpp = int(f.BitsPerPixel)
		}
	}
	var vis *xproto.VisualInfo
	for _, d := range scr.AllowedDepths {
		for i := range d.Visuals {
			if d.Visuals[i].VisualId == scr.RootVisual {
				vis = &d.Visuals[i]
			}
		}
	}
	if bpp != 32 || vis == nil || setup.ImageByteOrder != xproto.ImageOrderLSBFirst {
		return pixelFormat{}
	}
	shift := func(mask uint32) (uint, bool) {
		for s := uint(0); s <= 24; s += 8 {
			if mask == 0xff<<s {
				return s, true
			}
		}
		return 0, false
	}
	r, ok1 := shift(vis.RedMask)
	g, ok2 := shift(vis.GreenMask)
	b, ok3 := shift(vis.BlueMask)
	if !ok1 || !ok2 || !ok3 {
		return pixelFormat{}
	}
	return pixelFormat{ok: true, standard: r == 16 && g == 8 && b == 0, rShift: r, gShift: g, bShift: b}
}

// convert writes n pixels of src (server order) into dst as RGBA.
func (f pixelFormat) convert(dst, src []byte) {
	n := len(src) / 4
	dst = dst[:n*4]
	src = src[:n*4]
	if f.standard {
		// BGRX -> RGBA, two pixels per 64-bit word: the compiler turns the
		// Uint64 calls into single loads and stores.
		i := 0
		for ; i+8 <= len(src) && i+8 <= len(dst); i += 8 {
			v := binary.LittleEndian.Uint64(src[i:])
			binary.LittleEndian.PutUint64(dst[i:],
				(v>>16)&0x000000ff000000ff|v&0x0000ff000000ff00|(v&0x000000ff000000ff)<<16|0xff000000ff000000)
		}
		if i+4 <= len(src) {
			v := binary.LittleEndian.Uint32(src[i:])
			binary.LittleEndian.PutUint32(dst[i:], (v>>16)&0xff|v&0xff00|(v&0xff)<<16|0xff000000)
		}
		return
	}
	for i := 0; i < len(src); i += 4 {
		v := binary.LittleEndian.Uint32(src[i:])
		binary.LittleEndian.PutUint32(dst[i:], (v>>f.rShift)&0xff|((v>>f.gShift)&0xff)<<8|((v>>f.bShift)&0xff)<<16|0xff000000)
	}
}

// frameBuffer is the RGBA image Screenshot hands out; its pixel memory is
// allocated once for the largest size asked and reused.
type frameBuffer struct {
	img image.RGBA
}

func (fb *frameBuffer) get(w, h int) *image.RGBA {
	n := w * h * 4
	if cap(fb.img.Pix) < n {
		fb.img.Pix = make([]byte, n)
	}
	fb.img.Pix = fb.img.Pix[:n]
	fb.img.Stride = w * 4
	fb.img.Rect = image.Rect(0, 0, w, h)
	return &fb.img
}

// bandBytes bounds one GetImage reply: big frames come in horizontal bands
// that are all requested up front, so converting one overlaps the transfer
// of the next, and no single reply has to fit the request/reply limits.
const bandBytes = 4 << 20

// Screenshot captures region (the whole screen when region is empty) as
// RGBA with bounds starting at (0, 0). The image and its pixels are reused
// by the next Screenshot call on this Conn.
func (c *Conn) Screenshot(ctx context.Context, region image.Rectangle) (*image.RGBA, error) {
	if err := c.begin(ctx); err != nil {
		return nil, err
	}
	defer c.end()
	r, err := c.clipRegion(region)
	if err != nil {
		return nil, err
	}
	if !c.pix.ok {
		return nil, sandbox.Errorf(sandbox.CodeInternal, "the X screen's pixel format is not supported (need 24-bit colour)")
	}
	w, h := r.Dx(), r.Dy()
	img := c.shot.get(w, h)
	if c.shmReady() {
		if err := c.grabSHM(ctx, r, img); err == nil {
			return img, nil
		} else if se, ok := err.(*sandbox.Error); ok && se.Code != sandbox.CodeInternal {
			return nil, err
		}
		c.logger().Debug().Msg("MIT-SHM capture failed; using GetImage from now on")
		c.shmClose()
		c.noSHM = true
	}
	if err := c.grabGetImage(ctx, r, img); err != nil {
		return nil, err
	}
	return img, nil
}

func (c *Conn) clipRegion(region image.Rectangle) (image.Rectangle, error) {
	screen := image.Rect(0, 0, c.width, c.height)
	if region == (image.Rectangle{}) {
		return screen, nil
	}
	bad := func(msg string) error {
		return sandbox.InvalidArgument("region", "%s", msg).
			WithDetail("width", c.width).WithDetail("height", c.height)
	}
	if region.Dx() <= 0 || region.Dy() <= 0 {
		return image.Rectangle{}, bad("the region must have a positive width and height")
	}
	r := region.Intersect(screen)
	if r.Empty() {
		return image.Rectangle{}, bad("the region lies outside the screen")
	}
	return r, nil
}

func (c *Conn) grabGetImage(ctx context.Context, r image.Rectangle, img *image.RGBA) error {
	w, h := r.Dx(), r.Dy()
	rows := bandBytes / (w * 4)
	if rows < 1 {
		rows = 1
	}
	type band struct {
		y0, n  int
		cookie xproto.GetImageCookie
	}
	bands := make([]band, 0, (h+rows-1)/rows)
	for y := 0; y < h; y += rows {
		n := min(rows, h-y)
		ck := xproto.GetImage(c.xc, xproto.ImageFormatZPixmap, xproto.Drawable(c.root),
			int16(r.Min.X), int16(r.Min.Y+y), uint16(w), uint16(n), 0xffffffff)
		bands = append(bands, band{y, n, ck})
	}
	for i, b := range bands {
		// The raw reply: decoding it with GetImageCookie.Reply would copy
		// the pixels once more.
		buf, err := await(ctx, b.cookie.Cookie.Reply)
		if err != nil {
			for _, rest := range bands[i+1:] {
				go func() { _, _ = rest.cookie.Cookie.Reply() }() // drain
			}
			return c.xerr(err)
		}
		need := 32 + w*b.n*4
		if len(buf) < need {
			return sandbox.Errorf(sandbox.CodeInternal, "the X server sent a short image")
		}
		c.pix.convert(img.Pix[b.y0*w*4:(b.y0+b.n)*w*4], buf[32:need])
	}
	return nil
}

// SetBackground paints the root window (the desktop behind every window)
// a solid colour, 0xRRGGBB, as xsetroot -solid does, without a process.
func (c *Conn) SetBackground(ctx context.Context, rgb uint32) error {
	if err := c.begin(ctx); err != nil {
		return err
	}
	defer c.end()
	if !c.pix.ok {
		return sandbox.Errorf(sandbox.CodeInternal, "the X screen's pixel format is not supported (need 24-bit colour)")
	}
	r, g, b := rgb>>16&0xff, rgb>>8&0xff, rgb&0xff
	pixel := r<<c.pix.rShift | g<<c.pix.gShift | b<<c.pix.bShift
	xproto.ChangeWindowAttributes(c.xc, c.root, xproto.CwBackPixel, []uint32{pixel})
	xproto.ClearArea(c.xc, false, c.root, 0, 0, 0, 0)
	return c.sync(ctx)
}

// SHM reports whether screenshots go through MIT-SHM (after the first).
func (c *Conn) SHM() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.shm != nil
}
