// The live desktop of a vmservice sandbox inside an MCP host (an MCP App).
//
// The host hands this view a tool call's input and result. A result with a
// stream_url (start_stream) is connected to at once; a result or input with
// only a sandbox_id (create_sandbox, screenshot, ...) asks the server for
// the live view through the host (tools/call start_stream). noVNC then
// speaks RFB over the stream's WebSocket, which is the only origin the
// view's CSP lets it reach.
//
// View-only by default: the person watches the agent work. The "Take over"
// switch hands the person's mouse and keyboard to the sandbox and back; the
// model is told through ui/update-model-context so it waits meanwhile.
import './jitless.js';
import {
  App, PostMessageTransport, applyDocumentTheme, applyHostStyleVariables, applyHostFonts,
} from '@modelcontextprotocol/ext-apps/app-with-deps';
import RFB from '@novnc/novnc';

const $ = (id) => document.getElementById(id);
const ui = {
  status: $('status'), sandbox: $('sandbox'), takeover: $('takeover'), takeoverLabel: $('takeover-label'),
  screen: $('screen'), fullscreen: $('fullscreen'),
};

// Read by tests and handy in a debugger; holds no secret the page does not.
const state = (window.vmdesk = {
  state: 'waiting', message: '', sandboxId: '', streamURL: '', streamViewOnly: false, takeover: false,
});

function show(kind, message) {
  state.state = kind;
  state.message = message;
  document.body.dataset.state = kind;
  ui.status.textContent = message;
}

const app = new App({ name: 'vmservice-desktop', version: '1.0.0' }, { availableDisplayModes: ['inline', 'fullscreen'] });
let rfb = null;
let asked = ''; // sandbox whose live view was requested

function setSandbox(id) {
  if (typeof id !== 'string' || !id || id === state.sandboxId) return;
  state.sandboxId = id;
  ui.sandbox.textContent = id;
}

function errorText(res) {
  const sc = res?.structuredContent;
  if (sc?.message) return sc.message;
  const t = (res?.content || []).find((c) => c.type === 'text');
  return t?.text || 'the call failed';
}

async function onResult(res) {
  const sc = res?.structuredContent || {};
  setSandbox(sc.sandbox_id);
  if (res?.isError) {
    if (!rfb) show('error', errorText(res));
    return;
  }
  if (typeof sc.stream_url === 'string' && sc.stream_url) {
    connect(sc);
    return;
  }
  await requestView();
}

// requestView asks the server (through the host) for the sandbox's live
// view, once per sandbox.
async function requestView() {
  if (!state.sandboxId || asked === state.sandboxId || rfb) return;
  asked = state.sandboxId;
  show('connecting', 'Opening the live view…');
  try {
    const res = await app.callServerTool({ name: 'start_stream', arguments: { sandbox_id: state.sandboxId } });
    if (res.isError) {
      show('error', errorText(res));
      return;
    }
    connect(res.structuredContent || {});
  } catch (e) {
    show('error', `The live view could not be opened: ${e?.message || e}`);
  }
}

function connect(info) {
  if (rfb && state.streamURL === info.stream_url) return;
  disconnect();
  let page;
  try {
    page = new URL(info.stream_url);
  } catch {
    show('error', 'The stream URL is not valid');
    return;
  }
  const key = info.auth_key || page.searchParams.get('key') || '';
  const ws = new URL('websockify', page);
  ws.protocol = page.protocol === 'https:' ? 'wss:' : 'ws:';
  ws.search = key ? `?key=${encodeURIComponent(key)}` : '';
  ws.hash = '';
  state.streamURL = info.stream_url;
  state.streamViewOnly = !!info.view_only;
  setSandbox(info.sandbox_id);
  ui.takeover.disabled = state.streamViewOnly;
  ui.takeoverLabel.setAttribute('aria-disabled', String(state.streamViewOnly));
  if (state.streamViewOnly) {
    ui.takeoverLabel.title = 'This stream was started with view_only: nobody can drive the desktop through it';
    setTakeover(false);
  }
  show('connecting', 'Connecting…');
  rfb = new RFB(ui.screen, ws.href, { credentials: { password: key }, wsProtocols: ['binary'] });
  rfb.scaleViewport = true;
  rfb.viewOnly = !state.takeover;
  rfb.addEventListener('connect', () => {
    show('connected', state.takeover ? 'Live: you are in control' : 'Live: watching');
    fit();
  });
  rfb.addEventListener('disconnect', (e) => {
    rfb = null;
    show('disconnected', e.detail.clean ? 'The live view ended' : 'The live view was closed or cannot be reached');
  });
  rfb.addEventListener('credentialsrequired', () => rfb?.sendCredentials({ password: key }));
  rfb.addEventListener('securityfailure', () => show('error', 'The stream refused its key'));
  rfb.addEventListener('desktopname', fit);
}

// fit gives the screen the remote desktop's aspect ratio.
function fit() {
  const c = ui.screen.querySelector('canvas');
  if (c && c.width > 0 && c.height > 0) ui.screen.style.aspectRatio = `${c.width} / ${c.height}`;
}

function disconnect() {
  if (!rfb) return;
  const r = rfb;
  rfb = null;
  try { r.disconnect(); } catch { /* already closed */ }
}

function setTakeover(on) {
  on = !!on && !state.streamViewOnly;
  const changed = on !== state.takeover;
  state.takeover = on;
  ui.takeover.checked = on;
  document.body.classList.toggle('in-control', on);
  if (rfb) {
    rfb.viewOnly = !on;
    if (on) rfb.focus(); else rfb.blur();
    if (state.state === 'connected') show('connected', on ? 'Live: you are in control' : 'Live: watching');
  }
  if (changed && state.sandboxId && app.getHostCapabilities()?.updateModelContext) {
    const text = on
      ? `The person has taken over the desktop of sandbox ${state.sandboxId} (mouse and keyboard). Do not act on it until they hand it back.`
      : `The person handed the desktop of sandbox ${state.sandboxId} back; the agent may act on it again.`;
    app.updateModelContext({ content: [{ type: 'text', text }] }).catch(() => {});
  }
}

ui.takeover.addEventListener('change', () => setTakeover(ui.takeover.checked));

function applyContext(ctx) {
  if (!ctx) return;
  if (ctx.theme) applyDocumentTheme(ctx.theme);
  if (ctx.styles?.variables) applyHostStyleVariables(ctx.styles.variables);
  if (ctx.styles?.css?.fonts) applyHostFonts(ctx.styles.css.fonts);
  const modes = ctx.availableDisplayModes || app.getHostContext()?.availableDisplayModes || [];
  ui.fullscreen.hidden = !modes.includes('fullscreen');
  if (ctx.displayMode) ui.fullscreen.textContent = ctx.displayMode === 'fullscreen' ? '⤡' : '⤢';
}

ui.fullscreen.addEventListener('click', async () => {
  const cur = app.getHostContext()?.displayMode;
  try {
    const r = await app.requestDisplayMode({ mode: cur === 'fullscreen' ? 'inline' : 'fullscreen' });
    applyContext({ displayMode: r.mode });
  } catch { /* the host said no */ }
});

app.ontoolinput = ({ arguments: args }) => setSandbox(args?.sandbox_id);
app.ontoolresult = (res) => { onResult(res); };
app.ontoolcancelled = ({ reason }) => { if (!rfb) show('error', `The call was cancelled${reason ? `: ${reason}` : ''}`); };
app.onhostcontextchanged = applyContext;
app.onteardown = async () => {
  setTakeover(false);
  disconnect();
  return {};
};

await app.connect(new PostMessageTransport(window.parent, window.parent));
applyContext(app.getHostContext());
