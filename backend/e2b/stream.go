package e2b

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vmservice/vmservice/backend/e2b/internal/envd"
	"github.com/vmservice/vmservice/driver/vnc"
	"github.com/vmservice/vmservice/sandbox"
)

// Ports inside the sandbox, as E2B's desktop SDK uses them.
const (
	vncPort   = 5900
	noVNCPort = 6080
)

type vncState struct {
	x11vnc, novnc uint32
}

// StartVNC runs x11vnc (on localhost only) and noVNC's websockify on port
// 6080 inside the sandbox; the viewer is served on the sandbox's public
// host for that port. The stream password becomes the VNC password.
func (in *Instance) StartVNC(ctx context.Context, opts sandbox.StreamOptions) (*sandbox.StreamEndpoint, error) {
	if _, err := vnc.ClientLevels(opts.Quality); err != nil {
		return nil, err
	}
	fps := opts.FrameRate
	if fps == 0 {
		fps = vnc.DefaultFrameRate
	}
	if fps < vnc.MinFrameRate || fps > vnc.MaxFrameRate {
		return nil, sandbox.InvalidArgument("frame_rate", "frame_rate must be between %d and %d, got %d", vnc.MinFrameRate, vnc.MaxFrameRate, fps)
	}
	_ = in.StopVNC(ctx)
	ms := strconv.Itoa(1000 / fps)
	// No remote control from the display: any X client could change the
	// password or the port of the stream the sandbox's public URL serves.
	cmd := "exec x11vnc -display " + in.display + " -localhost -rfbport " + strconv.Itoa(vncPort) +
		" " + strings.Join(vnc.NoOrders, " ") +
		" -forever -shared -norc -ncache 0 -nowf -noscr -nobell -nodpms -wait " + ms + " -defer " + ms
	if opts.Password != "" {
		pw := "/tmp/.vncpass-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		if err := in.envd.upload(ctx, pw, []byte(opts.Password+"\n")); err != nil {
			return nil, err
		}
		// rm: x11vnc deletes the file once read.
		cmd += " -passwdfile rm:" + pw
	} else {
		cmd += " -nopw"
	}
	if in.foreignDisplay {
		cmd += " -noshm"
	}
	if opts.ViewOnly {
		cmd += " -viewonly"
	}
	if opts.WindowID != 0 {
		cmd += fmt.Sprintf(" -id 0x%x", uint32(opts.WindowID))
	}
	st := &vncState{}
	res, err := in.Run(ctx, sandbox.CommandRequest{Background: true, Cwd: "/", Command: cmd + " >/tmp/x11vnc.log 2>&1"})
	if err != nil {
		return nil, err
	}
	st.x11vnc = uint32(res.PID)
	web := "if [ -x /opt/noVNC/utils/novnc_proxy ]; then cd /opt/noVNC/utils && exec ./novnc_proxy --vnc localhost:" + strconv.Itoa(vncPort) +
		" --listen " + strconv.Itoa(noVNCPort) + " --web /opt/noVNC; else exec websockify --web /usr/share/novnc " +
		strconv.Itoa(noVNCPort) + " localhost:" + strconv.Itoa(vncPort) + "; fi"
	res, err = in.Run(ctx, sandbox.CommandRequest{Background: true, Cwd: "/", Command: "(" + web + ") >/tmp/novnc.log 2>&1"})
	if err != nil {
		in.stopVNC(ctx, st)
		return nil, err
	}
	st.novnc = uint32(res.PID)
	wait := "for i in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/" + strconv.Itoa(vncPort) + ") 2>/dev/null && (exec 3<>/dev/tcp/127.0.0.1/" +
		strconv.Itoa(noVNCPort) + ") 2>/dev/null && exit 0; sleep 0.1; done; exit 1"
	if _, err := in.sh(ctx, wait); err != nil {
		in.stopVNC(ctx, st)
		return nil, sandbox.Errorf(sandbox.CodeBackendUnavailable, "the VNC server did not start in the sandbox").WithCause(err)
	}
	in.mu.Lock()
	in.vnc = st
	in.mu.Unlock()
	u := in.p.opts.publicURL(in.id, in.domain, noVNCPort) + "/vnc.html?autoconnect=true&resize=scale"
	if opts.ViewOnly {
		u += "&view_only=true"
	}
	return &sandbox.StreamEndpoint{URL: u}, nil
}

// StopVNC stops the stream's processes (no error when none run).
func (in *Instance) StopVNC(ctx context.Context) error {
	in.mu.Lock()
	st := in.vnc
	in.vnc = nil
	in.mu.Unlock()
	if st != nil {
		in.stopVNC(ctx, st)
	}
	return nil
}

func (in *Instance) stopVNC(ctx context.Context, st *vncState) {
	for _, pid := range []uint32{st.novnc, st.x11vnc} {
		if pid != 0 {
			_ = in.envd.signal(ctx, pid, envd.SIGKILL)
		}
	}
}
