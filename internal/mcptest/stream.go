package mcptest

import (
	"context"
	"net/url"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/vmservice/vmservice/driver/vnc/vnctest"
)

// ViewerURL is the websocket URL of a stream (its stream_url) and the key
// that opens it (also its VNC password).
func ViewerURL(streamURL string) (ws, key string, err error) {
	u, err := url.Parse(streamURL)
	if err != nil {
		return "", "", err
	}
	key = u.Query().Get("key")
	u.RawQuery = "key=" + url.QueryEscape(key)
	u.Scheme = "ws"
	u.Path = strings.TrimSuffix(u.Path, "/") + "/websockify"
	return u.String(), key, nil
}

// View connects to a stream as a viewer (websocket, then RFB with the key)
// and reads one pixel, so that its VNC server grabs the screen. It gives up
// after 20 s.
func View(ctx context.Context, streamURL string) error {
	ws, key, err := ViewerURL(streamURL)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, ws, &websocket.DialOptions{Subprotocols: []string{"binary"}})
	if err != nil {
		return err
	}
	nc := websocket.NetConn(ctx, c, websocket.MessageBinary)
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(20 * time.Second))
	cl, _, err := vnctest.Handshake(nc, key)
	if err != nil {
		return err
	}
	_, err = cl.Pixel(1, 1)
	return err
}
