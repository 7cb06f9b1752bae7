// Package sandbox is vmservice's SDK: per-user Linux desktops behind one
// Go API that knows nothing of MCP. It restates in Go the Python "VM
// Service SDK" this product was asked to rebuild (an async SDK over E2B
// desktop sandboxes; its capabilities are listed in docs/CONTRACT.md).
// Comments say "the VM Service SDK" for that Python SDK: its
// SandboxConfig is Config, its SandboxInfo is Info, its error codes are
// Code, its client settings are Settings.
//
// What is here:
//
//   - Manager owns every sandbox: which user owns it, quotas, expiry,
//     stats, clean-up, and the order of input (Sandbox.Input).
//   - Provider and Instance are what a backend implements (backend/local,
//     backend/e2b); an Instance hands out its Desktop, Files, Commands,
//     Apps and Streams. Backends never see user ids.
//   - Desktop is the screen, mouse and keyboard (driver/x11 speaks it).
//   - Config, Settings and their limits; Error, the one error type (a
//     stable Code, a message, details; never a host path).
//   - Pool keeps desktops booted ahead of requests (WarmPool is its seam
//     with the Manager).
//
// Subpackages: capture (the one screenshot pipeline) and sandboxtest (the
// behaviour every backend must pass).
package sandbox
