// The host side of the MCP App test: a page built on ext-apps' AppBridge,
// the way a web MCP host embeds a View. Bundled by app.mjs with esbuild and
// loaded into headless Chromium. The View runs in the spec's double iframe:
// this page (one origin) -> sandbox proxy (another origin, CSP from the
// resource's _meta.ui.csp as an HTTP header) -> the View's HTML.
// tools/call from the View goes to the real vmservice through the Node side
// (window.hostCallTool, exposed by Playwright).
import { AppBridge, PostMessageTransport } from '@modelcontextprotocol/ext-apps/app-bridge';

window.hostLog = { modelContext: [], logs: [], toolCalls: [], sizes: [] };

window.renderApp = async ({ html, csp, sandboxURL, tool, toolInput, toolResult }) => {
  document.getElementById('frame')?.remove();
  const iframe = document.createElement('iframe');
  iframe.id = 'frame';
  iframe.setAttribute('sandbox', 'allow-scripts allow-same-origin allow-forms');
  iframe.style.cssText = 'width:1040px;height:860px;border:1px solid #888';
  const ready = new Promise((resolve) => {
    window.addEventListener('message', function listener(e) {
      if (e.source === iframe.contentWindow && e.data?.method === 'ui/notifications/sandbox-proxy-ready') {
        window.removeEventListener('message', listener);
        resolve();
      }
    });
  });
  iframe.src = `${sandboxURL}?csp=${encodeURIComponent(JSON.stringify(csp || {}))}`;
  document.body.appendChild(iframe);
  await ready;

  const bridge = new AppBridge(null, { name: 'vmservice-e2e-host', version: '1.0.0' }, {
    openLinks: {}, serverTools: {}, serverResources: {}, logging: {}, updateModelContext: { text: {} },
    sandbox: { csp },
  }, {
    hostContext: {
      theme: 'dark', displayMode: 'inline', availableDisplayModes: ['inline'], platform: 'web',
      toolInfo: { tool: { name: tool, inputSchema: { type: 'object' } } },
    },
  });
  bridge.oncalltool = async (params) => {
    window.hostLog.toolCalls.push(params);
    return window.hostCallTool(params);
  };
  bridge.onupdatemodelcontext = async (params) => {
    window.hostLog.modelContext.push(params);
    return {};
  };
  bridge.onloggingmessage = (params) => window.hostLog.logs.push(params);
  bridge.onsizechange = ({ height }) => {
    window.hostLog.sizes.push(height);
    if (height) iframe.style.height = `${height}px`;
  };
  const initialized = new Promise((resolve) => { bridge.oninitialized = resolve; });
  await bridge.connect(new PostMessageTransport(iframe.contentWindow, iframe.contentWindow));
  await bridge.sendSandboxResourceReady({ html, csp });
  await initialized;
  await bridge.sendToolInput({ arguments: toolInput || {} });
  if (toolResult) await bridge.sendToolResult(toolResult);
  window.hostBridge = bridge;
  return true;
};

window.teardownApp = async () => {
  await window.hostBridge?.teardownResource({ reason: 'test' });
  document.getElementById('frame')?.remove();
};
